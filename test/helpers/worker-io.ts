/**
 * Worker-thread body for worker.test.ts: makes its own IoContext and keeps
 * I/O in flight in a loop (reads of a file, plus a poll on a FIFO that never
 * completes, so that something is always in flight) until it is terminated.
 *
 * Inert unless loaded as a worker with workerData.kind 'linux-aio-worker-io'
 * (node --test runs every .js file under dist/test, helpers included).
 */
import fs from 'node:fs';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';

export interface WorkerIoData {
  kind: 'linux-aio-worker-io';
  path: string;
  fifo: string;
  maxEvents: number;
  blockSize: number;
  blocks: number;
}

async function run(data: WorkerIoData): Promise<void> {
  const { IoContext, Iocb, POLL, allocAligned } = await import('../../src/index.js');
  const fd = fs.openSync(data.path, fs.constants.O_RDONLY | fs.constants.O_DIRECT);
  const fifoFd = fs.openSync(data.fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  const ctx = IoContext.setup(data.maxEvents);
  ctx.submit([new Iocb().prepPoll(fifoFd, POLL.IN)]);
  const depth = 32;
  let next = 0;
  const prep = (cb: InstanceType<typeof Iocb>): InstanceType<typeof Iocb> => {
    const block = next++ % data.blocks;
    cb.prepPread(fd, (cb.buffer as Buffer | undefined) ?? allocAligned(data.blockSize), block * data.blockSize);
    cb.data = block;
    return cb;
  };
  let pending = Array.from({ length: depth }, () => prep(new Iocb()));
  let rounds = 0;
  let completed = 0;
  for (;;) {
    if (pending.length > 0) {
      try {
        pending = pending.slice(ctx.submit(pending));
      } catch (err) {
        if ((err as { code?: string }).code !== 'EAGAIN') throw err;
      }
    }
    const evs = await ctx.waitEvents(1, depth);
    for (const e of evs) {
      const buf = e.obj.buffer as Buffer;
      if (e.res !== data.blockSize || buf.readUInt32LE(0) !== e.data) {
        throw new Error(`worker read of block ${String(e.data)}: res ${e.res}, header ${buf.readUInt32LE(0)}`);
      }
      completed++;
      pending.push(prep(e.obj));
    }
    if (++rounds === 10) parentPort!.postMessage({ type: 'ready', inFlight: ctx.inFlight, completed });
  }
}

if (!isMainThread && (workerData as WorkerIoData | undefined)?.kind === 'linux-aio-worker-io') {
  run(workerData as WorkerIoData).catch((err: unknown) => {
    parentPort!.postMessage({ type: 'error', message: (err as Error)?.stack ?? String(err) });
  });
}
