/**
 * The IoQueue's depth limit and batching: requests beyond the
 * depth wait in a FIFO in JavaScript (never EAGAIN for the caller, never more
 * than `depth` in the kernel), and every request made in one tick goes to the
 * kernel in one io_submit.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { open, allocAligned, IoQueue, type AioFile } from '../src/index.js';
import { diskDir, tempPath, writeUncached } from './helpers/disk.js';
import { KERNEL_ENGINE } from './helpers/engine.js';

const BLOCK = 4096;
const BLOCKS = 1024; // a 4 MiB file

/** A 4 MiB file whose block i is filled with (i & 0xff), opened O_DIRECT on `queue`. */
async function fixture(t: TestContext, queue: IoQueue): Promise<AioFile | undefined> {
  const { skip } = diskDir();
  if (skip) {
    t.skip(skip);
    return undefined;
  }
  const path = tempPath('backpressure');
  const data = Buffer.alloc(BLOCKS * BLOCK);
  for (let i = 0; i < BLOCKS; i++) data.fill(i & 0xff, i * BLOCK, (i + 1) * BLOCK);
  writeUncached(path, data);
  const file = await open(path, 'r', { queue });
  t.after(async () => {
    await file.close();
    fs.rmSync(path, { force: true });
  });
  assert.equal(file.engine, KERNEL_ENGINE);
  return file;
}

test('10,000 reads on a depth-32 queue: never more than 32 in flight, all complete, batched', async (t) => {
  const N = 10_000;
  const queue = new IoQueue({ depth: 32 });
  t.after(() => queue.close());
  assert.equal(queue.depth, 32);
  const file = await fixture(t, queue);
  if (!file) return;

  let maxInFlight = 0;
  let maxQueued = 0;
  let samples = 0;
  const sample = (): void => {
    const s = queue.stats();
    samples++;
    if (s.inFlight > maxInFlight) maxInFlight = s.inFlight;
    if (s.queued > maxQueued) maxQueued = s.queued;
  };
  // Sample from the event loop as well as from each completion.
  let sampling = true;
  const loop = (): void => {
    sample();
    if (sampling) setImmediate(loop);
  };
  setImmediate(loop);

  const reads: Promise<void>[] = [];
  let wrong = 0;
  for (let i = 0; i < N; i++) {
    const block = (i * 7919) % BLOCKS;
    const buf = allocAligned(BLOCK, file.alignment.memory);
    reads.push(file.read(buf, block * BLOCK).then((n) => {
      sample();
      if (n !== BLOCK || buf[0] !== (block & 0xff) || buf[BLOCK - 1] !== (block & 0xff)) wrong++;
    }));
  }
  sample();
  const afterIssue = queue.stats();
  assert.equal(afterIssue.queued, N, 'all 10,000 wait in JavaScript until the next tick');
  assert.equal(afterIssue.inFlight, 0);
  await Promise.all(reads);
  sampling = false;

  assert.equal(wrong, 0, 'every read returned 4096 bytes of its own block');
  assert.ok(maxInFlight <= 32, `never more than 32 in flight (saw ${maxInFlight})`);
  assert.ok(maxInFlight >= 16, `the queue was kept busy (saw ${maxInFlight} in flight)`);
  assert.ok(maxQueued > 0, `requests waited in the FIFO (saw ${maxQueued} queued)`);
  assert.ok(samples > N, `sampled ${samples} times`);
  const s = queue.stats();
  assert.equal(s.submitted, N);
  assert.equal(s.completed, N);
  assert.equal(s.inFlight, 0);
  assert.equal(s.queued, 0);
  assert.equal(s.eagain, 0, 'the depth limit keeps the kernel from refusing anything');
  assert.ok(s.submitCalls < N / 4, `batched: ${s.submitCalls} io_submit calls for ${N} reads`);
  assert.ok(s.reapCalls < N, `reaped in bulk: ${s.reapCalls} reaps for ${N} completions`);
  assert.equal(file.inFlight, 0);
});

test('the FIFO keeps order: requests are submitted in the order they were made', async (t) => {
  const queue = new IoQueue({ depth: 1 });
  t.after(() => queue.close());
  const file = await fixture(t, queue);
  if (!file) return;
  const order: number[] = [];
  const reads = Array.from({ length: 50 }, (_, i) =>
    file.read(allocAligned(BLOCK, file.alignment.memory), i * BLOCK).then(() => order.push(i)));
  await Promise.all(reads);
  assert.deepEqual(order, Array.from({ length: 50 }, (_, i) => i), 'with depth 1, completion order is request order');
  const s = queue.stats();
  assert.equal(s.submitted, 50);
  assert.equal(s.submitCalls, 50, 'depth 1: one request per io_submit');
});

test('16 reads made in one tick go to the kernel in exactly one io_submit', async (t) => {
  const queue = new IoQueue({ depth: 128 });
  t.after(() => queue.close());
  const file = await fixture(t, queue);
  if (!file) return;
  const before = queue.stats();
  const reads = Array.from({ length: 16 }, (_, i) => file.read(allocAligned(BLOCK, file.alignment.memory), i * BLOCK));
  const mid = queue.stats();
  assert.equal(mid.submitCalls, before.submitCalls, 'nothing is submitted before the tick ends');
  assert.equal(mid.queued, 16);
  assert.deepEqual(await Promise.all(reads), new Array(16).fill(BLOCK));
  const after = queue.stats();
  assert.equal(after.submitCalls - before.submitCalls, 1, 'one io_submit');
  assert.equal(after.submitted - before.submitted, 16);
  assert.equal(after.completed - before.completed, 16);
});

test('reads made in the continuations of completed reads join one io_submit', async (t) => {
  const queue = new IoQueue({ depth: 128 });
  t.after(() => queue.close());
  const file = await fixture(t, queue);
  if (!file) return;
  // 8 chains; each completion immediately issues the next read of its chain.
  // Completions reaped together resume together, so their follow-ups must
  // share one io_submit: every reap that issued follow-ups costs exactly one
  // io_submit, whatever the storage's speed, and a queue that submitted each
  // request on its own would make one per request.
  const chains = 8;
  const steps = 20;
  /** The reap (queue.stats().reapCalls) in whose continuations each follow-up was made. */
  const followUpsByReap = new Map<number, number>();
  const chain = async (c: number): Promise<void> => {
    const buf = allocAligned(BLOCK, file.alignment.memory);
    for (let s = 0; s < steps; s++) {
      const block = (c * steps + s) % BLOCKS;
      if (s > 0) {
        const reap = queue.stats().reapCalls;
        followUpsByReap.set(reap, (followUpsByReap.get(reap) ?? 0) + 1);
      }
      const pending: Promise<number> = file.read(buf, block * BLOCK);
      // Hold the thread once, just after the first batch is submitted, so
      // that all 8 reads have completed by the first reap.
      if (s === 0 && c === chains - 1) process.nextTick(() => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100));
      assert.equal(await pending, BLOCK);
      assert.equal(buf[0], block & 0xff);
    }
  };
  await Promise.all(Array.from({ length: chains }, (_, c) => chain(c)));
  const s = queue.stats();
  assert.equal(s.submitted, chains * steps);
  const groups = [...followUpsByReap.values()];
  t.diagnostic(`${s.submitCalls} io_submit calls for ${chains * steps} chained reads; follow-ups per reap: ${groups.join(' ')}`);
  assert.ok(Math.max(...groups) > 1, 'no reap ever delivered two completions: the test shows nothing');
  assert.equal(s.submitCalls, 1 + followUpsByReap.size, 'one io_submit for the first batch and one per reap that made follow-ups');
});

test('a queue can be shared by several files, and the depth holds across them', async (t) => {
  const queue = new IoQueue({ depth: 8 });
  t.after(() => queue.close());
  const a = await fixture(t, queue);
  if (!a) return;
  const b = await fixture(t, queue);
  if (!b) return;
  let max = 0;
  const reads: Promise<number>[] = [];
  for (let i = 0; i < 200; i++) {
    const f = i % 2 === 0 ? a : b;
    reads.push(f.read(allocAligned(BLOCK, f.alignment.memory), (i % BLOCKS) * BLOCK).then((n) => {
      max = Math.max(max, queue.stats().inFlight);
      return n;
    }));
  }
  assert.deepEqual(await Promise.all(reads), new Array(200).fill(BLOCK));
  assert.ok(max <= 8, `never more than 8 in flight across both files (saw ${max})`);
  assert.equal(queue.stats().submitted, 200);
  assert.equal(a.inFlight + b.inFlight, 0);
});

test('IoQueue rejects a bad depth', () => {
  assert.throws(() => new IoQueue({ depth: 0 }), RangeError);
  assert.throws(() => new IoQueue({ depth: 1.5 }), RangeError);
  assert.throws(() => new IoQueue({ depth: '8' as unknown as number }), TypeError);
});
