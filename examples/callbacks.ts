/**
 * libaio's callback style: every request carries the function that handles
 * its completion (`ioSetCallback`), and `ioQueueRun` reaps what is ready and
 * calls each one; `ioQueueWait` first waits for a completion from the event
 * loop, so timers and other I/O go on meanwhile.
 *
 * Reads a file with O_DIRECT in 64 KiB blocks, 8 in flight, each callback
 * reusing its Iocb and buffer for the next block, and prints how many bytes
 * it read and their sum modulo 2^32:
 *
 *   node dist/examples/callbacks.js FILE
 */
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Iocb, allocAligned, ioQueueInit, ioQueueRelease, ioQueueWait, ioSetCallback, type IoCallback } from 'linux-aio';

const BLOCK = 64 * 1024;
const DEPTH = 8;

/** Reads all of `path` through callbacks; resolves to its length and byte sum. */
export async function sumFile(path: string): Promise<{ bytes: number; sum: number }> {
  const fd = fs.openSync(path, fs.constants.O_RDONLY | fs.constants.O_DIRECT);
  const size = fs.fstatSync(fd).size;
  const ctx = ioQueueInit(DEPTH);
  let next = 0;
  let bytes = 0;
  let sum = 0;
  let failure: Error | undefined;

  const readNext = (iocb: Iocb, buf: Buffer): void => {
    if (next >= size || failure) return;
    ctx.submit([ioSetCallback(iocb.prepPread(fd, buf, next), onRead)]);
    next += BLOCK;
  };
  // Called by ioQueueRun as (ctx, iocb, res, res2): res is the bytes read
  // (fewer at the end of the file) or a negative errno.
  const onRead: IoCallback = (_ctx, iocb, res) => {
    if (res < 0) {
      failure ??= new Error(`the read at ${iocb.offset} failed with errno ${-res}`);
      return;
    }
    const buf = iocb.buffer as Buffer;
    for (let i = 0; i < res; i++) sum = (sum + buf[i]!) >>> 0;
    bytes += res;
    readNext(iocb, buf);
  };

  try {
    for (let i = 0; i < DEPTH; i++) readNext(new Iocb(), allocAligned(BLOCK));
    while (ctx.inFlight > 0) await ioQueueWait(ctx);
  } finally {
    ioQueueRelease(ctx);
    fs.closeSync(fd);
  }
  if (failure) throw failure;
  return { bytes, sum };
}

if (process.argv[1] !== undefined && fs.realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const path = process.argv[2];
  if (!path) {
    console.error('usage: node dist/examples/callbacks.js FILE');
    process.exit(2);
  }
  try {
    const { bytes, sum } = await sumFile(path);
    console.log(`${path}: ${bytes} bytes, sum ${sum}`);
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  }
}
