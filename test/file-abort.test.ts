/**
 * Per-request options. `signal`: the promise rejects with an
 * AbortError at once, whether the request was never made (already aborted),
 * waiting in the queue (it never reaches the kernel) or in the kernel (which
 * still completes it, into a buffer that stays pinned until then). `flags`:
 * RWF flags per request, DSYNC and NOWAIT.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { getEventListeners } from 'node:events';
import { randomFillSync } from 'node:crypto';
import { open, allocAligned, AioError, IoQueue, RWF, type AioFile, type OpenOptions } from '../src/index.js';
import path from 'node:path';
import { attachLoop, diskDir, loopSkipReason, randomFile } from './helpers/disk.js';
import { forceGC } from './helpers/gc.js';

const BLOCK = 4096;
const BLOCKS = 256;
// Queues made with `reapInline: false` below: those tests need a request to
// stay in the kernel until the next turn, and a fast disk can finish one
// inside io_submit, where it would be delivered at once.

async function fixture(t: TestContext, options: OpenOptions = {}): Promise<{ file: AioFile; path: string; data: Buffer } | undefined> {
  const fx = randomFile(t, BLOCKS * BLOCK, 'abort');
  if (!fx) return undefined;
  const { path, data } = fx;
  const file = await open(path, 'r+', options);
  t.after(async () => {
    await file.close();
    fs.rmSync(path, { force: true });
  });
  return { file, path, data };
}

function isAbortError(reason?: unknown): (err: unknown) => boolean {
  return (err: unknown) => {
    assert.ok(err instanceof Error);
    assert.equal(err.name, 'AbortError');
    assert.equal((err as Error & { code?: string }).code, 'ABORT_ERR');
    if (reason !== undefined) assert.equal(err.cause, reason, 'the cause is the signal\'s reason');
    return true;
  };
}

/** Resolves after the IoQueue's flush, which was scheduled with process.nextTick before this. */
const afterFlush = (): Promise<void> => new Promise((resolve) => process.nextTick(resolve));

async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

test('a signal already aborted rejects at once, and nothing reaches the kernel', async (t) => {
  const queue = new IoQueue({ depth: 8 });
  t.after(() => queue.close());
  const f = await fixture(t, { queue });
  if (!f) return;
  const { file } = f;
  const reason = new Error('no longer wanted');
  const signal = AbortSignal.abort(reason);
  const buf = allocAligned(BLOCK, file.alignment.memory);
  await assert.rejects(file.read(buf, 0, { signal }), isAbortError(reason));
  await assert.rejects(file.write(buf, 0, { signal }), isAbortError(reason));
  await assert.rejects(file.readv([buf], 0, { signal }), isAbortError(reason));
  await assert.rejects(file.writev([buf], 0, { signal }), isAbortError(reason));
  await assert.rejects(file.readAt(5, 10, { signal }), isAbortError(reason));
  const s = queue.stats();
  assert.equal(s.submitted + s.submitCalls + s.queued, 0, 'nothing was queued or submitted');
  assert.equal(file.inFlight, 0, 'nothing is counted as in flight');
  assert.ok(fs.readFileSync(f.path).equals(f.data), 'the refused writes wrote nothing');
});

test('a signal already aborted rejects at once on the thread pool too', async (t) => {
  const f = await fixture(t, { direct: false });
  if (!f) return;
  const { file } = f;
  const signal = AbortSignal.abort();
  await assert.rejects(file.read(Buffer.alloc(10), 0, { signal }), isAbortError(signal.reason));
  await assert.rejects(file.write(Buffer.alloc(10), 0, { signal }), isAbortError(signal.reason));
  assert.equal(file.inFlight, 0);
  assert.ok(fs.readFileSync(f.path).equals(f.data));
});

test('aborting requests waiting in the queue rejects them; they never reach the kernel', async (t) => {
  const queue = new IoQueue({ depth: 1, reapInline: false });
  t.after(() => queue.close());
  const f = await fixture(t, { queue });
  if (!f) return;
  const { file, data } = f;
  const controller = new AbortController();
  const read = (block: number, signal?: AbortSignal): { buf: Buffer; p: Promise<number> } => {
    const buf = allocAligned(BLOCK, file.alignment.memory);
    return { buf, p: file.read(buf, block * BLOCK, signal ? { signal } : undefined) };
  };
  const head = read(0);
  const doomed = Array.from({ length: 30 }, (_, i) => read(1 + i, controller.signal));
  const tail = read(100);
  const rejections = doomed.map((d) => assert.rejects(d.p, isAbortError(controller.signal.reason)));
  await afterFlush();
  const before = queue.stats();
  assert.equal(before.inFlight, 1, 'depth 1: the head is in the kernel');
  assert.equal(before.queued, 31, 'the rest wait in the FIFO');
  assert.equal(file.inFlight, 32);

  controller.abort();
  assert.equal(queue.stats().queued, 1, 'the aborted requests left the FIFO at once');
  assert.equal(file.inFlight, 2, 'and are no longer counted by the file');
  await Promise.all(rejections);

  assert.equal(await head.p, BLOCK);
  assert.ok(head.buf.equals(data.subarray(0, BLOCK)));
  assert.equal(await tail.p, BLOCK, 'a request behind the aborted ones still runs');
  assert.ok(tail.buf.equals(data.subarray(100 * BLOCK, 101 * BLOCK)));
  const s = queue.stats();
  assert.equal(s.submitted, 2, 'only the two requests not aborted were submitted');
  assert.equal(s.completed, 2);
  assert.equal(s.queued, 0);
  assert.ok(doomed.every((d) => d.buf.every((b) => b === 0)), 'no aborted request touched its buffer');
});

test('aborting every other queued request: the rest run, in order', async (t) => {
  const queue = new IoQueue({ depth: 1, reapInline: false });
  t.after(() => queue.close());
  const f = await fixture(t, { queue });
  if (!f) return;
  const { file, data } = f;
  const controllers = Array.from({ length: 200 }, () => new AbortController());
  const order: number[] = [];
  const bufs = controllers.map(() => allocAligned(BLOCK, file.alignment.memory));
  const reads = controllers.map((c, i) => file.read(bufs[i]!, (i % BLOCKS) * BLOCK, { signal: c.signal }).then(() => order.push(i)));
  await afterFlush();
  for (let i = 1; i < controllers.length; i += 2) controllers[i]!.abort();
  assert.equal(queue.stats().queued, 99, 'the 100 aborted left the FIFO, the head is in the kernel');
  const results = await Promise.allSettled(reads);
  results.forEach((r, i) => assert.equal(r.status, i % 2 === 0 ? 'fulfilled' : 'rejected', `request ${i}`));
  assert.deepEqual(order, controllers.map((_, i) => i).filter((i) => i % 2 === 0), 'the survivors ran in order');
  for (let i = 0; i < controllers.length; i += 2) {
    assert.ok(bufs[i]!.equals(data.subarray((i % BLOCKS) * BLOCK, (i % BLOCKS + 1) * BLOCK)), `request ${i} has its block`);
  }
  assert.equal(queue.stats().submitted, 100);
  assert.equal(file.inFlight, 0);
});

test('requests sharing one signal put one listener on it, and leave none behind', async (t) => {
  for (const options of [{}, { direct: false }] as OpenOptions[]) {
    const f = await fixture(t, options);
    if (!f) return;
    const { file, data } = f;
    const controller = new AbortController();
    const { signal } = controller;
    const bufs = Array.from({ length: 1000 }, () => allocAligned(BLOCK, file.alignment.memory));
    const reads = bufs.map((b, i) => file.read(b, (i % BLOCKS) * BLOCK, { signal }));
    // One listener per request made n requests on a signal cost O(n²) (the
    // signal searches its list on every removal): 40,000 reads took 12 s.
    // The count is the check; a wall-clock ratio was one too, and flaked.
    assert.equal(getEventListeners(signal, 'abort').length, 1, `${file.engine}: one listener for 1,000 requests`);
    assert.deepEqual(await Promise.all(reads), new Array(1000).fill(BLOCK));
    bufs.forEach((b, i) => assert.ok(b.equals(data.subarray((i % BLOCKS) * BLOCK, (i % BLOCKS + 1) * BLOCK))));
    assert.equal(getEventListeners(signal, 'abort').length, 0, `${file.engine}: none left once all completed`);

    // The same signal, reused, then aborted with requests outstanding.
    const more = Array.from({ length: 500 }, (_, i) => file.read(allocAligned(BLOCK, file.alignment.memory), (i % BLOCKS) * BLOCK, { signal }));
    assert.equal(getEventListeners(signal, 'abort').length, 1);
    controller.abort();
    const outcomes = await Promise.allSettled(more);
    assert.ok(outcomes.every((o) => o.status === 'rejected' && (o.reason as Error).name === 'AbortError'), `${file.engine}: all 500 aborted`);
    assert.equal(getEventListeners(signal, 'abort').length, 0, `${file.engine}: none left after the abort`);
    await until(() => file.inFlight === 0, 'the file to drain');
  }
});

test('aborting a read in the kernel rejects at once; the data still lands in its buffer', async (t) => {
  const queue = new IoQueue({ depth: 8, reapInline: false });
  t.after(() => queue.close());
  const f = await fixture(t, { queue });
  if (!f) return;
  const { file, data } = f;
  const controller = new AbortController();
  const buf = allocAligned(4 * BLOCK, file.alignment.memory);
  let inFlightAtRejection = -1;
  const p = file.read(buf, 8 * BLOCK, { signal: controller.signal });
  const rejected = assert.rejects(p.catch((err: unknown) => {
    inFlightAtRejection = queue.stats().inFlight;
    throw err;
  }), isAbortError(controller.signal.reason));
  await afterFlush();
  assert.equal(queue.stats().inFlight, 1, 'the read is in the kernel');
  controller.abort();
  await rejected;
  assert.equal(inFlightAtRejection, 1, 'the promise rejected before the kernel completed the read');
  assert.equal(file.inFlight, 1, 'the file still counts it until the kernel is done');

  await until(() => queue.stats().inFlight === 0, 'the kernel to complete the aborted read');
  assert.equal(file.inFlight, 0);
  assert.equal(queue.stats().completed, 1);
  assert.ok(buf.equals(data.subarray(8 * BLOCK, 12 * BLOCK)), 'the kernel filled the buffer all the same');
});

test('an aborted write in the kernel keeps its buffer alive: the data lands even when the caller drops it', async (t) => {
  const queue = new IoQueue({ depth: 64, reapInline: false });
  t.after(() => queue.close());
  const f = await fixture(t, { queue });
  if (!f) return;
  const { file, path, data } = f;
  const expected = Buffer.from(data);
  const controller = new AbortController();
  const rejections: Promise<void>[] = [];
  const weak: WeakRef<ArrayBufferLike>[] = [];
  // The buffers are made in a function that returns nothing: once aborted,
  // only the library holds them.
  ((): void => {
    for (let i = 0; i < 32; i++) {
      const buf = allocAligned(16 * BLOCK, file.alignment.memory);
      randomFillSync(buf);
      weak.push(new WeakRef(buf.buffer));
      buf.copy(expected, i * 4 * BLOCK, 0, 4 * BLOCK);
      // Only the first 4 blocks of each buffer are written; the view keeps
      // the whole allocation reachable only through the request.
      rejections.push(assert.rejects(file.write(buf.subarray(0, 4 * BLOCK), i * 4 * BLOCK, { signal: controller.signal }),
        isAbortError()));
    }
  })();
  await afterFlush();
  assert.equal(queue.stats().inFlight, 32, 'all 32 writes are in the kernel');
  controller.abort();
  await Promise.all(rejections);
  // Still in the same turn of the event loop: no completion can have been
  // reaped yet, so every buffer must survive a full collection.
  forceGC();
  const inKernel = queue.stats().inFlight;
  const alive = weak.filter((w) => w.deref() !== undefined).length;
  assert.equal(inKernel, 32, 'nothing reaped yet');
  assert.equal(alive, 32, 'every buffer of an unreaped request survives garbage collection');
  // Collect, and churn memory so that freed backing stores would be reused.
  for (let i = 0; i < 3; i++) {
    forceGC();
    for (let j = 0; j < 64; j++) allocAligned(16 * BLOCK).fill(0xdd);
  }
  await until(() => queue.stats().inFlight === 0, 'the kernel to complete the aborted writes');
  assert.equal(file.inFlight, 0);
  await file.fsync();
  assert.ok(fs.readFileSync(path).equals(expected), 'every aborted write landed with its own bytes');
});

test('close waits for an aborted request that is still in the kernel', async (t) => {
  const queue = new IoQueue({ depth: 8, reapInline: false });
  t.after(() => queue.close());
  const f = await fixture(t, { queue });
  if (!f) return;
  const { file } = f;
  const controller = new AbortController();
  const p = file.read(allocAligned(BLOCK, file.alignment.memory), 0, { signal: controller.signal });
  const rejected = assert.rejects(p, isAbortError());
  await afterFlush();
  controller.abort();
  await rejected;
  assert.equal(queue.stats().inFlight, 1);
  await file.close();
  assert.equal(queue.stats().inFlight, 0, 'close resolved only after the kernel finished the request');
  assert.equal(queue.stats().completed, 1);
});

test('aborting after completion changes nothing; one signal can abort many requests', async (t) => {
  const f = await fixture(t);
  if (!f) return;
  const { file, data } = f;
  const controller = new AbortController();
  const buf = allocAligned(BLOCK, file.alignment.memory);
  assert.equal(await file.read(buf, 0, { signal: controller.signal }), BLOCK);
  controller.abort(); // nothing to abort any more: no unhandled rejection, no throw
  assert.ok(buf.equals(data.subarray(0, BLOCK)));

  const shared = new AbortController();
  const many = Array.from({ length: 20 }, (_, i) =>
    file.read(allocAligned(BLOCK, file.alignment.memory), i * BLOCK, { signal: shared.signal }));
  shared.abort();
  const results = await Promise.allSettled(many);
  assert.ok(results.every((r) => r.status === 'rejected' && (r.reason as Error).name === 'AbortError'),
    'every request sharing the signal rejected');
  await until(() => file.inFlight === 0, 'the file to have nothing in flight');
});

test('aborting a thread-pool request in flight rejects at once; close still waits for it', async (t) => {
  const f = await fixture(t, { direct: false, engine: 'threadpool' });
  if (!f) return;
  const { file, data } = f;
  const controller = new AbortController();
  const buf = Buffer.alloc(64 * 1024);
  const p = file.read(buf, 0, { signal: controller.signal });
  assert.equal(file.inFlight, 1);
  controller.abort();
  await assert.rejects(p, isAbortError());
  await file.close();
  assert.equal(file.inFlight, 0);
  assert.ok(buf.equals(data.subarray(0, buf.length)), 'the pool finished the read into the buffer');
});

/** Flush requests a block device has completed (field 16 of /sys/block/<dev>/stat, Linux 5.5+). */
function flushesDone(device: string): number {
  const fields = fs.readFileSync(`/sys/block/${path.basename(device)}/stat`, 'utf8').trim().split(/\s+/);
  assert.ok(fields.length >= 17, `${device}: no flush counter in its stat (${fields.length} fields)`);
  return Number(fields[15]);
}

test('RWF.DSYNC and RWF.SYNC make each write durable: the device sees one flush per write, and none without them', async (t) => {
  // A loop device of our own (its write cache is on and it has no FUA, so
  // the block layer turns a durable write into a write and a flush, and
  // counts the flush); nobody else writes to it.
  const why = loopSkipReason() ?? diskDir().skip;
  if (why) return t.skip(why);
  const loop = attachLoop(4 << 20, { directIo: true });
  t.after(() => loop.detach());
  const file = await open(loop.device, 'r+');
  t.after(() => file.close());
  const bufs = Array.from({ length: 8 }, (_, i) => allocAligned(BLOCK, file.alignment.memory).fill(0x10 + i));
  const writeAll = async (flags: number): Promise<number> => {
    const before = flushesDone(loop.device);
    for (let i = 0; i < bufs.length; i++) assert.equal(await file.write(bufs[i]!, i * BLOCK, { flags }), BLOCK);
    return flushesDone(loop.device) - before;
  };
  assert.equal(await writeAll(0), 0, 'plain writes: no flush');
  assert.equal(await writeAll(RWF.DSYNC), bufs.length, 'RWF.DSYNC: one flush per write');
  assert.equal(await writeAll(RWF.SYNC), bufs.length, 'RWF.SYNC: one flush per write');
  const before = flushesDone(loop.device);
  assert.equal(await file.writev([bufs[0]!, bufs[1]!], 20 * BLOCK, { flags: RWF.DSYNC }), 2 * BLOCK);
  assert.equal(flushesDone(loop.device) - before, 1, 'a vectored RWF.DSYNC write: one flush');
  // And the bytes are there, read back through another descriptor.
  const back = Buffer.alloc(22 * BLOCK);
  const fd = fs.openSync(loop.device, 'r');
  try {
    fs.readSync(fd, back, 0, back.length, 0);
  } finally {
    fs.closeSync(fd);
  }
  bufs.forEach((b, i) => assert.ok(back.subarray(i * BLOCK, (i + 1) * BLOCK).equals(b), `block ${i}`));
  assert.ok(back.subarray(20 * BLOCK, 22 * BLOCK).equals(Buffer.concat([bufs[0]!, bufs[1]!])));
});

test('RWF.NOWAIT: a direct read over a dirty page cache fails with AioError EAGAIN instead of waiting; without the flag it waits and reads', async (t) => {
  const f = await fixture(t);
  if (!f) return;
  const { file, path: p } = f;
  // Nothing dirty: the file was written through the page cache, so flush it.
  fs.closeSync(fs.openSync(p, 'r+'));
  const sync = fs.openSync(p, 'r+');
  fs.fsyncSync(sync);
  // Dirty one block through the page cache: a direct read of it must wait
  // for writeback, which RWF.NOWAIT refuses to do.
  const fresh = Buffer.alloc(BLOCK, 0x77);
  fs.writeSync(sync, fresh, 0, BLOCK, 5 * BLOCK);
  fs.closeSync(sync);
  const read = (block: number, flags: number): Promise<{ n: number; buf: Buffer }> => {
    const buf = allocAligned(BLOCK, file.alignment.memory);
    return file.read(buf, block * BLOCK, { flags }).then((n) => ({ n, buf }));
  };
  await assert.rejects(read(5, RWF.NOWAIT), (err: unknown) => {
    assert.ok(err instanceof AioError, `a NOWAIT failure is an AioError: ${String(err)}`);
    assert.equal(err.code, 'EAGAIN');
    assert.equal(err.errno, -11);
    return true;
  }, 'RWF.NOWAIT read of a block with a dirty page: it must not wait');
  assert.equal(file.inFlight, 0);
  // Without the flag the read waits for writeback and sees the new bytes.
  const waited = await read(5, 0);
  assert.equal(waited.n, BLOCK);
  assert.ok(waited.buf.equals(fresh), 'the read without NOWAIT sees the page-cache write');
  // Written back now, nothing is in the way: the same NOWAIT read succeeds.
  const again = await read(5, RWF.NOWAIT);
  assert.equal(again.n, BLOCK);
  assert.ok(again.buf.equals(fresh));
});
