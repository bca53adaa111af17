/**
 * IoQueue.default(): one queue per thread, the same one on every call, a
 * new one after close(); and the default depth of 128.
 *
 * (The depth is also clamped to the context's capacity, but that clamp
 * cannot bite: the kernel always makes the ring larger than asked, at least
 * twice, so a queue of depth d gets a capacity above d; a depth of 4096 is
 * checked to come back whole. The largest, 65536, would take all of a
 * default fs.aio-max-nr.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { Worker } from 'node:worker_threads';
import { IoQueue, allocAligned, open } from '../src/index.js';
import { diskDir, tempPath } from './helpers/disk.js';

/** AIO rings this process maps: one per live context, whatever the thread. */
const aioRings = (): number => fs.readFileSync('/proc/self/maps', 'utf8').split('\n').filter((l) => l.includes('[aio]')).length;

test('IoQueue.default() is the same queue on every call, the one open() uses, and a new one after close()', { skip: diskDir().skip, timeout: 20_000 }, async (t) => {
  const first = IoQueue.default();
  assert.equal(IoQueue.default(), first, 'a second call gives the same queue');
  assert.equal(first.depth, 128, 'the default queue is 128 deep');
  const p = tempPath('default-queue');
  fs.writeFileSync(p, Buffer.alloc(4096, 7));
  t.after(() => fs.rmSync(p, { force: true }));
  // open() without a queue goes to this one: its counters move.
  const before = first.stats().submitted;
  const file = await open(p, 'r');
  assert.equal(await file.read(allocAligned(4096), 0), 4096);
  assert.equal(first.stats().submitted, before + 1, "the read went to this thread's default queue");
  await file.close();

  await first.close();
  const second = IoQueue.default();
  assert.notEqual(second, first, 'after close(), a new queue');
  assert.equal(IoQueue.default(), second);
  // The new one works; the closed one refuses.
  const again = await open(p, 'r');
  assert.equal(await again.read(allocAligned(4096), 0), 4096);
  assert.equal(second.stats().submitted, 1);
  await again.close();
  assert.equal(first.closed, true);
  await assert.rejects(open(p, 'r', { queue: first }), (err: unknown) => (err as { code?: string }).code === 'EBADF');
});

test('each thread has its own default queue, with its own context', { timeout: 20_000 }, async () => {
  const mine = IoQueue.default();
  const ringsBefore = aioRings();
  const index = new URL('../src/index.js', import.meta.url).href;
  // The worker makes its default queue, checks it is stable, reports, and
  // waits to be told to close it, so that both exist at once.
  const worker = new Worker(`
    const { parentPort } = require('node:worker_threads');
    import(${JSON.stringify(index)}).then(({ IoQueue }) => {
      const q = IoQueue.default();
      parentPort.postMessage({ same: IoQueue.default() === q, depth: q.depth, submitted: q.stats().submitted });
      parentPort.once('message', async () => {
        await q.close();
        parentPort.postMessage({ closed: true, fresh: IoQueue.default() !== q });
        await IoQueue.default().close();
      });
    });`, { eval: true });
  try {
    const [report] = (await new Promise((resolve, reject) => {
      worker.once('message', (m) => resolve([m]));
      worker.once('error', reject);
    })) as [{ same: boolean; depth: number }];
    assert.equal(report.same, true, "the worker's default() is stable");
    assert.equal(report.depth, 128);
    assert.equal(aioRings(), ringsBefore + 1, "the worker's default queue has a context of its own");
    assert.equal(IoQueue.default(), mine, "the worker's queue is not this thread's");
    worker.postMessage('close');
    const done = (await new Promise((resolve) => worker.once('message', resolve))) as { closed: boolean; fresh: boolean };
    assert.equal(done.closed, true);
    assert.equal(done.fresh, true);
    // Closing the worker's queue left this thread's alone.
    assert.equal(IoQueue.default(), mine);
    assert.equal(mine.stats().inFlight, 0);
  } finally {
    await worker.terminate();
  }
});

test('the default depth is 128: 200 reads made at once put 128 in the kernel and queue the rest', { skip: diskDir().skip, timeout: 20_000 }, async (t) => {
  const p = tempPath('default-depth');
  fs.writeFileSync(p, Buffer.alloc(256 * 4096, 3));
  t.after(() => fs.rmSync(p, { force: true }));
  const queue = new IoQueue();
  t.after(() => queue.close());
  assert.equal(queue.depth, 128);
  const file = await open(p, 'r', { queue });
  t.after(() => file.close());
  let atFirstSubmit: ReturnType<IoQueue['stats']> | undefined;
  const reads = Array.from({ length: 200 }, (_, i) => file.read(allocAligned(4096), i * 4096));
  // After the queue's flush (a nextTick queued before this one), before any completion can be reaped.
  await new Promise<void>((resolve) => process.nextTick(() => {
    atFirstSubmit = queue.stats();
    resolve();
  }));
  assert.deepEqual(await Promise.all(reads), new Array(200).fill(4096));
  const s = atFirstSubmit!;
  t.diagnostic(`after the first flush: ${JSON.stringify(s)}`);
  // Completions the kernel finished inside io_submit may have been reaped
  // at once and their room refilled; what is in flight never passes 128.
  assert.equal(s.submitted - s.completed, s.inFlight);
  assert.ok(s.inFlight <= 128, `${s.inFlight} in flight`);
  assert.ok(s.submitted >= 128, `only ${s.submitted} submitted: the depth is below 128`);
  assert.equal(s.queued, 200 - s.submitted, 'the rest wait in the queue');

  // A deeper queue's depth comes back whole: the kernel's ring is larger still.
  const big = new IoQueue({ depth: 4096 });
  assert.equal(big.depth, 4096);
  await big.close();
});
