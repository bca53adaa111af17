/**
 * A worker thread for test/torture/workers-child.ts: its own IoQueue on
 * its own file, random reads and writes without end, until it is
 * terminated. Writes put the worker's byte everywhere they go, so a read
 * must find zeros (never written) or that byte; anything else is reported.
 * Posts 'busy' once requests are in the kernel. Given a `pollFd` (an
 * eventfd that nobody writes), a poll on it is in the kernel from the start:
 * proof, not the library's own count, that the kernel holds a request of
 * this worker when it is terminated.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { IoContext, IoQueue, Iocb, POLL, allocAligned, open } from '../../src/index.js';

const { path, id, fileSize, pollFd } = workerData as { path: string; id: number; fileSize: number; pollFd: number | undefined };
const held = pollFd === undefined ? undefined : IoContext.setup(1);
const polls = held ? held.submit([new Iocb().prepPoll(pollFd!, POLL.IN)]) : 0;
const byte = 0x40 + id;
const queue = new IoQueue({ depth: 64 });
const file = await open(path, 'r+', { queue });
let x = (id + 1) * 2654435761;
const rand = (n: number): number => {
  x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
  return x % n;
};
let told = false;

function one(): void {
  const len = (1 + rand(16)) * 4096;
  const off = rand((fileSize - len) / 4096 + 1) * 4096;
  const buf = allocAligned(len, file.alignment.memory);
  if (rand(2) === 0) {
    buf.fill(byte);
    file.write(buf, off).then(one, fail);
  } else {
    file.read(buf, off).then(() => {
      for (let i = 0; i < len; i += 512) {
        if (buf[i] !== 0 && buf[i] !== byte) fail(new Error(`worker ${id}: byte ${buf[i]} at ${off + i}`));
      }
      one();
    }, fail);
  }
}

function fail(err: unknown): void {
  parentPort!.postMessage({ error: String(err) });
}

for (let i = 0; i < 96; i++) one();
setImmediate(() => {
  // After the queue's flush: requests are in the kernel.
  if (!told) parentPort!.postMessage({ busy: queue.stats().inFlight, polls: polls - (held?.getEvents(0, 1).length ?? 0) });
  told = true;
});
