/** A worker thread of generate.ts: works out the lives of the days it is sent. */
import { parentPort, workerData } from 'node:worker_threads';
import { type DayItem, lifeOfDay } from './generate.ts';
import { createWorld } from './world.ts';

const world = await createWorld((workerData as { seed: number }).seed);
parentPort!.on('message', ({ day, items }: { day: number; items: DayItem[] }) => {
  const packed = lifeOfDay(world, day, items);
  parentPort!.postMessage(packed, [packed.ends.buffer, packed.at.buffer, packed.table.buffer, packed.seq.buffer] as ArrayBuffer[]);
});
