/**
 * AioFile against an in-memory model: 10,000 random 4 KiB reads
 * and writes, issued in bursts so that hundreds are in flight at once, on a
 * real O_DIRECT file. A block is never the target of two outstanding
 * requests, so the model (a Buffer mirror of the file) is well defined; every
 * read is compared with it, and at the end the whole file, read back with
 * node:fs, must equal it.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { randomFillSync } from 'node:crypto';
import { open, allocAligned, IoQueue } from '../src/index.js';
import { diskDir, tempPath } from './helpers/disk.js';
import { KERNEL_ENGINE } from './helpers/engine.js';

const BLOCK = 4096;
const BLOCKS = 2048; // an 8 MiB file
/** Requests made in one tick; every fourth burst alone is more than the queue's depth of 128, however fast the storage. */
const BURSTS = [64, 96, 64, 160];
const MAX_OUTSTANDING = 384;

/** A small deterministic PRNG (mulberry32), so a failure can be replayed from its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * `reapInline: false` keeps every completion for the event loop, so that
 * bursts pile up past the depth and the FIFO is exercised; with it on, a
 * fast disk finishes some requests inside io_submit and they are delivered
 * at once.
 */
/**
 * `space`: 'written' fills the preallocated file through direct writes
 * first, so every request stays on the kernel path; 'unwritten' leaves the
 * fallocated extents unwritten, so that ext4 and XFS answer a first write
 * into each EAGAIN under the queue's RWF_NOWAIT (the extent conversion needs
 * a journal handle), and those requests are retried on the thread pool in
 * the middle of the kernel traffic: the retry path checked for data and
 * ordering.
 */
async function modelRun(t: TestContext, OPS: number, reap: 'auto' | 'syscall', reapInline: boolean,
  space: 'written' | 'unwritten'): Promise<void> {
  const { skip } = diskDir();
  if (skip) {
    t.skip(skip);
    return;
  }
  const seed = Number(process.env.LINUX_AIO_SEED ?? Date.now() % 1_000_000);
  t.diagnostic(`seed ${seed} (set LINUX_AIO_SEED to replay)`);
  const random = prng(seed);
  const path = tempPath('model');
  const queue = new IoQueue({ depth: 128, reap, reapInline });
  if (reap === 'syscall') assert.equal(queue.reapMode, 'syscall');
  const file = await open(path, 'w+', { size: BLOCKS * BLOCK, queue });
  t.after(async () => {
    await file.close();
    await queue.close();
    fs.rmSync(path, { force: true });
  });
  assert.equal(file.engine, KERNEL_ENGINE);
  assert.equal(BLOCK % file.alignment.offset, 0, 'a 4 KiB block is a multiple of the offset alignment');
  assert.equal(BLOCK % file.alignment.memory, 0, 'a 4 KiB aligned buffer satisfies the memory alignment');
  if (space === 'written') {
    const zeros = allocAligned(256 * BLOCK, file.alignment.memory);
    for (let at = 0; at < BLOCKS * BLOCK; at += zeros.length) assert.equal(await file.write(zeros, at), zeros.length);
  }
  const base = queue.stats();

  const model = Buffer.alloc(BLOCKS * BLOCK); // the file starts as zeros (fallocate)
  const busy = new Uint8Array(BLOCKS);
  const free: Buffer[] = [];
  for (let i = 0; i < MAX_OUTSTANDING; i++) free.push(allocAligned(BLOCK, file.alignment.memory));

  let issued = 0;
  let outstanding = 0;
  let reads = 0;
  let writes = 0;
  let maxOutstanding = 0;
  const failures: unknown[] = [];
  const all: Promise<void>[] = [];

  const issue = (block: number, isWrite: boolean): void => {
    const buf = free.pop()!;
    const at = block * BLOCK;
    busy[block] = 1;
    outstanding++;
    let p: Promise<void>;
    if (isWrite) {
      writes++;
      randomFillSync(buf);
      // No other request touches this block until this one completes, so
      // the model can take the new contents now.
      buf.copy(model, at);
      p = file.write(buf, at).then((n) => assert.equal(n, BLOCK, `write of block ${block} is complete`));
    } else {
      reads++;
      buf.fill(0xa5); // stale bytes that a read must overwrite
      p = file.read(buf, at).then((n) => {
        assert.equal(n, BLOCK, `read of block ${block} is complete`);
        if (!buf.equals(model.subarray(at, at + BLOCK))) {
          assert.fail(`read of block ${block} differs from the model`);
        }
      });
    }
    all.push(
      p.catch((err: unknown) => void failures.push(err)).finally(() => {
        busy[block] = 0;
        outstanding--;
        free.push(buf);
      }),
    );
  };

  for (let burst = 0; issued < OPS; burst++) {
    // One burst: requests made in the same tick, on blocks that have
    // nothing outstanding.
    const room = Math.min(BURSTS[burst % BURSTS.length]!, OPS - issued, MAX_OUTSTANDING - outstanding);
    for (let i = 0; i < room; i++) {
      let block = Math.floor(random() * BLOCKS);
      while (busy[block]) block = (block + 1) % BLOCKS;
      issue(block, random() < 0.5);
      issued++;
    }
    maxOutstanding = Math.max(maxOutstanding, outstanding);
    await tick();
    if (failures.length > 0) break;
  }
  await Promise.all(all);
  assert.deepEqual(failures, [], 'no request failed and every read matched the model');
  assert.equal(reads + writes, OPS);
  assert.ok(reads > OPS * 0.4 && writes > OPS * 0.4, `a mix of reads (${reads}) and writes (${writes})`);
  t.diagnostic(`max outstanding ${maxOutstanding}`);
  // Every fourth burst alone exceeds the depth, so some requests waited in the
  // queue whether completions are delivered inline or by the event loop.
  assert.ok(maxOutstanding > 128, `${maxOutstanding} requests outstanding at once: never more than the depth, so none waited in the queue`);
  assert.equal(file.inFlight, 0);

  const end = queue.stats();
  const submitted = end.submitted - base.submitted;
  const submitCalls = end.submitCalls - base.submitCalls;
  const fellBack = end.fellBack - base.fellBack;
  t.diagnostic(`${fellBack} requests retried on the thread pool; ${submitCalls} io_submit calls`);
  assert.equal(submitted, OPS);
  assert.equal(end.completed - base.completed, OPS);
  assert.equal(end.inFlight, 0);
  assert.equal(end.queued, 0);
  if (space === 'written') {
    assert.equal(fellBack, 0, 'overwrites of written blocks stay on the kernel path');
    assert.ok(submitCalls < OPS / 4, `batched: ${submitCalls} io_submit calls for ${OPS} requests`);
  } else {
    // Each retry ends on its own, and may flush the queue once.
    assert.ok(submitCalls < (OPS - fellBack) / 4 + fellBack, `batched: ${submitCalls} io_submit calls for ${OPS} requests, ${fellBack} retried`);
  }

  // What is on the disk, read without the library, is the model.
  await file.fsync();
  const disk = fs.readFileSync(path);
  assert.equal(disk.length, model.length, 'the file kept its preallocated size');
  assert.ok(disk.equals(model), 'the file on disk equals the model');
}

test('10,000 concurrent random 4k reads and writes agree with an in-memory model', async (t) => {
  await modelRun(t, 10_000, 'auto', false, 'written');
});

test('the same with completions found at submit delivered in the same turn (the default; 2,000 requests), first writes into unwritten space retried on the thread pool', async (t) => {
  await modelRun(t, 2_000, 'auto', true, 'unwritten');
});

test('the same with completions reaped by io_getevents instead of the user-space ring (2,000 requests), with retries on the thread pool', async (t) => {
  if (KERNEL_ENGINE === 'uring') return t.skip("reap: 'syscall' is Linux AIO's io_getevents (the aio pass runs it); io_uring's completions are always read in user space");
  await modelRun(t, 2_000, 'syscall', false, 'unwritten');
});

test('vectored reads and writes (two halves per block) agree with the model too', async (t) => {
  const { skip } = diskDir();
  if (skip) {
    t.skip(skip);
    return;
  }
  const path = tempPath('model-v');
  const blocks = 256;
  const file = await open(path, 'w+', { size: blocks * BLOCK });
  t.after(async () => {
    await file.close();
    fs.rmSync(path, { force: true });
  });
  const half = BLOCK / 2;
  if (half % file.alignment.offset !== 0) {
    t.skip(`offset alignment ${file.alignment.offset} does not divide ${half}`);
    return;
  }
  const model = Buffer.alloc(blocks * BLOCK);
  const random = prng(42);
  // Write every block as two halves in one writev, all in one tick.
  const writes: Promise<number>[] = [];
  for (let b = 0; b < blocks; b++) {
    const lo = allocAligned(half, file.alignment.memory);
    const hi = allocAligned(half, file.alignment.memory);
    randomFillSync(lo);
    randomFillSync(hi);
    lo.copy(model, b * BLOCK);
    hi.copy(model, b * BLOCK + half);
    writes.push(file.writev([lo, hi], b * BLOCK));
  }
  assert.deepEqual(await Promise.all(writes), new Array(blocks).fill(BLOCK));
  // Read random runs of 1..4 blocks into 2 KiB pieces.
  const reads: Promise<void>[] = [];
  for (let i = 0; i < 200; i++) {
    const count = 1 + Math.floor(random() * 4);
    const first = Math.floor(random() * (blocks - count + 1));
    const pieces = Array.from({ length: count * 2 }, () => allocAligned(half, file.alignment.memory).fill(0xee));
    reads.push(file.readv(pieces, first * BLOCK).then((n) => {
      assert.equal(n, count * BLOCK);
      assert.ok(Buffer.concat(pieces).equals(model.subarray(first * BLOCK, (first + count) * BLOCK)),
        `readv of blocks ${first}..${first + count - 1} matches the model`);
    }));
  }
  await Promise.all(reads);
  assert.ok(fs.readFileSync(path).equals(model), 'the file on disk equals the model');
});
