export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** A clock tests move by hand: deadline tests advance time instead of sleeping. */
export class TestClock implements Clock {
  #t: number;
  constructor(start: Date | string = '2026-03-02T01:00:00Z') {
    this.#t = new Date(start).getTime();
  }
  now(): Date {
    return new Date(this.#t);
  }
  advanceBy(ms: number): void {
    this.#t += ms;
  }
  set(to: Date | string): void {
    this.#t = new Date(to).getTime();
  }
}
