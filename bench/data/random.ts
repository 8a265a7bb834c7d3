/**
 * Seeded randomness for the data set: the same seed gives the same data. Each clue (and each other
 * stream: calls, the district) draws from its own generator, derived from the seed and its own
 * label, so changing how much one clue draws never shifts what another gets.
 */
import { createHash } from 'node:crypto';
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plusFromState } from 'pure-rand/generator/xoroshiro128plus';
import type { RandomGenerator } from 'pure-rand/types/RandomGenerator';
import { uuid7From, uuidText } from '../../src/app/ids.ts';

export class Rng {
  readonly #g: RandomGenerator;

  /** A generator for `label` under `seed`: 128 bits of state from SHA-256, so 10⁶ streams never collide. */
  constructor(seed: number, label: string) {
    const h = createHash('sha256').update(`dibao-bench:${seed}:${label}`).digest();
    this.#g = xoroshiro128plusFromState([h.readInt32LE(0), h.readInt32LE(4), h.readInt32LE(8), h.readInt32LE(12)]);
  }

  /** Uniform in [0, 1). */
  float(): number {
    return uniformFloat64(this.#g);
  }

  /** Uniform integer in [from, to], both included. */
  int(from: number, to: number): number {
    return uniformInt(this.#g, from, to);
  }

  chance(p: number): boolean {
    return this.float() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length - 1)]!;
  }

  /** One key of `weights`, with probability proportional to its weight. */
  weighted<K extends string>(weights: Readonly<Record<K, number>>): K {
    const entries = Object.entries(weights) as [K, number][];
    let total = 0;
    for (const [, w] of entries) total += w;
    let x = this.float() * total;
    for (const [k, w] of entries) {
      x -= w;
      if (x < 0) return k;
    }
    return entries.at(-1)![0];
  }

  /** Exponentially distributed with the given mean (waiting times). */
  exp(mean: number): number {
    return -Math.log(1 - this.float()) * mean;
  }

  bytes(n: number): Buffer {
    const out = Buffer.alloc(n);
    for (let i = 0; i < n; i += 4) {
      const v = this.#g.next();
      for (let j = 0; j < 4 && i + j < n; j++) out[i + j] = (v >>> (8 * j)) & 0xff;
    }
    return out;
  }

  /** A version-4 UUID from the stream's bits. */
  uuid(): string {
    const b = this.bytes(16);
    b[6] = (b[6]! & 0x0f) | 0x40;
    b[8] = (b[8]! & 0x3f) | 0x80;
    return uuidText(b);
  }

  /** A version-7 UUID (time-ordered, as the app gives a clue) whose 48-bit time is `ms`, the rest from the stream's bits. */
  uuid7(ms: number): string {
    return uuid7From(this.bytes(16), ms);
  }

  digits(n: number): string {
    let s = '';
    for (let i = 0; i < n; i++) s += String(this.int(0, 9));
    return s;
  }
}
