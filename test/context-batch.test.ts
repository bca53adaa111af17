/**
 * 1,000 blocks of 4 KiB written and read back through a context much smaller
 * than the batch: submit takes what fits (a partial count), throws AioError
 * EAGAIN when nothing fits, and nothing is lost or duplicated on the way.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { AioError, IoContext, Iocb, allocAligned, type IoEvent } from '../src/index.js';
import { diskDir, openDirect } from './helpers/disk.js';

const BLOCKS = 1000;
const BS = 4096;

function fillBlock(buf: Buffer, i: number): void {
  buf.writeUInt32LE(i, 0);
  for (let k = 4; k < BS; k++) buf[k] = (i * 7 + k * 13) & 0xff;
}

function checkBlock(buf: Buffer, i: number): void {
  assert.equal(buf.length, BS);
  assert.equal(buf.readUInt32LE(0), i, `block ${i}: wrong index in its header`);
  for (let k = 4; k < BS; k++) {
    if (buf[k] !== ((i * 7 + k * 13) & 0xff)) assert.fail(`block ${i}: byte ${k} is ${buf[k]}`);
  }
}

interface RunStats {
  events: IoEvent[];
  partialSubmits: number;
  eagainThrown: number;
  maxPerReap: number;
}

/**
 * Submits all of `iocbs` through `ctx` by handing it everything that is left
 * each time, as an application that ignores the context size would: submit
 * says how many it took, EAGAIN says none.
 */
async function runAll(ctx: IoContext, iocbs: Iocb[], reap: 'sync' | 'async'): Promise<RunStats> {
  const events: IoEvent[] = [];
  let next = 0;
  let partialSubmits = 0;
  let eagainThrown = 0;
  let maxPerReap = 0;
  while (events.length < iocbs.length) {
    if (next < iocbs.length) {
      const rest = iocbs.slice(next);
      let n = 0;
      try {
        n = ctx.submit(rest);
        assert.ok(n >= 1 && n <= rest.length, `submit returned ${n}`);
      } catch (err) {
        // The kernel keeps part of its ring in per-CPU batches: with
        // completions not yet reaped it may refuse everything even though
        // the library counts free slots. Reaping is the cure.
        assert.ok(err instanceof AioError && err.code === 'EAGAIN', String(err));
        assert.ok(ctx.inFlight > 0, 'EAGAIN with nothing in flight');
        assert.equal(rest[0]!.inFlight, false);
        eagainThrown++;
      }
      if (n >= 1 && n < rest.length) partialSubmits++;
      for (let i = next; i < next + n; i++) assert.equal(iocbs[i]!.inFlight, true);
      for (let i = next + n; i < iocbs.length; i++) {
        if (iocbs[i]!.inFlight) assert.fail(`iocb ${i} was not accepted but is marked in flight`);
      }
      next += n;
      if (next < iocbs.length) {
        // The context is full now: submitting more must fail with EAGAIN
        // (from the library, or from the kernel when its per-CPU slots are
        // elsewhere), and must leave the request untouched.
        try {
          const more = ctx.submit(iocbs.slice(next, next + 1));
          next += more;
        } catch (err) {
          assert.ok(err instanceof AioError, `expected AioError, got ${String(err)}`);
          assert.equal(err.code, 'EAGAIN');
          assert.equal(err.errno, -11);
          assert.equal(err.syscall, 'io_submit');
          assert.equal(iocbs[next]!.inFlight, false);
          eagainThrown++;
        }
      }
    }
    assert.ok(ctx.inFlight <= ctx.capacity, `inFlight ${ctx.inFlight} exceeds capacity ${ctx.capacity}`);
    const got = reap === 'sync' ? ctx.getEvents(1, ctx.capacity) : await ctx.waitEvents(1, ctx.capacity);
    assert.ok(got.length >= 1 && got.length <= ctx.capacity);
    maxPerReap = Math.max(maxPerReap, got.length);
    events.push(...got);
  }
  return { events, partialSubmits, eagainThrown, maxPerReap };
}

function checkAllOnce(events: IoEvent[], iocbs: Iocb[]): void {
  assert.equal(events.length, BLOCKS);
  const seen = new Set<number>();
  for (const ev of events) {
    const i = ev.data as number;
    assert.equal(typeof i, 'number');
    assert.ok(!seen.has(i), `block ${i} completed twice`);
    seen.add(i);
    assert.equal(ev.obj, iocbs[i], `event for block ${i} carries another Iocb`);
    assert.equal(ev.res, BS, `block ${i}: res ${ev.res}`);
    assert.equal(ev.res2, 0);
    assert.equal(ev.obj.inFlight, false);
  }
  assert.equal(seen.size, BLOCKS);
}

test('1,000 4k blocks through a context smaller than the batch', async (t) => {
  const { skip } = diskDir();
  if (skip) return t.skip(skip);
  const { fd, path } = openDirect(BLOCKS * BS, 'batch');
  const ctx = IoContext.setup(32);
  t.after(() => {
    ctx.destroy();
    fs.closeSync(fd);
    fs.rmSync(path, { force: true });
  });
  assert.equal(ctx.maxEvents, 32);
  assert.ok(ctx.capacity >= 32, `capacity ${ctx.capacity} < maxEvents`);
  assert.ok(ctx.capacity < BLOCKS, `capacity ${ctx.capacity} is not smaller than the batch`);
  t.diagnostic(`setup(32) gave capacity ${ctx.capacity}, reap mode ${ctx.reapMode}`);

  // Writes, reaped with the blocking getEvents.
  const writes: Iocb[] = [];
  for (let i = 0; i < BLOCKS; i++) {
    const buf = allocAligned(BS);
    fillBlock(buf, i);
    const cb = new Iocb().prepPwrite(fd, buf, i * BS);
    cb.data = i;
    writes.push(cb);
  }
  const w = await runAll(ctx, writes, 'sync');
  checkAllOnce(w.events, writes);
  assert.equal(ctx.inFlight, 0);
  assert.ok(w.partialSubmits > 0, 'no submit was partial');
  assert.ok(w.eagainThrown > 0, 'submit never threw EAGAIN on a full context');
  assert.ok(w.maxPerReap > 1, 'completions were never reaped in bulk');

  // What reached the disk, checked apart from the library.
  const onDisk = fs.readFileSync(path);
  assert.equal(onDisk.length, BLOCKS * BS);
  for (let i = 0; i < BLOCKS; i++) checkBlock(onDisk.subarray(i * BS, (i + 1) * BS), i);

  // Reads into fresh buffers, reaped with waitEvents, in reverse block order.
  const reads: Iocb[] = [];
  for (let i = 0; i < BLOCKS; i++) {
    const buf = allocAligned(BS);
    buf.fill(0xa5);
    const cb = new Iocb().prepPread(fd, buf, i * BS);
    cb.data = i;
    reads.push(cb);
  }
  const order = [...reads].reverse();
  const r = await runAll(ctx, order, 'async');
  assert.equal(r.events.length, BLOCKS);
  checkAllOnce(r.events, reads);
  for (const ev of r.events) checkBlock(ev.obj.buffer as Buffer, ev.data as number);
  assert.ok(r.partialSubmits > 0);

  const stats = ctx.stats();
  assert.equal(stats.submitted, 2 * BLOCKS);
  assert.equal(stats.completed, 2 * BLOCKS);
  assert.equal(stats.inFlight, 0);
  assert.ok(stats.eagain > 0, `stats().eagain is ${stats.eagain}`);
  assert.ok(stats.submitCalls >= (2 * BLOCKS) / ctx.capacity);
  assert.ok(stats.reapCalls < 2 * BLOCKS, 'one reap per request: completions were not reaped in bulk');
});

test('a full context accepts nothing more until something is reaped', (t) => {
  const { skip } = diskDir();
  if (skip) return t.skip(skip);
  const { fd, path } = openDirect(BS, 'full');
  const ctx = IoContext.setup(1);
  t.after(() => {
    ctx.destroy();
    fs.closeSync(fd);
    fs.rmSync(path, { force: true });
  });
  const cap = ctx.capacity;
  const cbs = Array.from({ length: cap + 5 }, () => new Iocb().prepPread(fd, allocAligned(BS), 0));
  // More than fit, in one call: the front of the array is taken, no more
  // than the capacity (fewer only if the kernel briefly holds slots on
  // another CPU).
  const accepted = ctx.submit(cbs);
  assert.ok(accepted >= 1 && accepted <= cap, `accepted ${accepted} of capacity ${cap}`);
  assert.equal(ctx.inFlight, accepted);
  for (let i = 0; i < cbs.length; i++) assert.equal(cbs[i]!.inFlight, i < accepted, `iocb ${i}`);
  // Taken short of the capacity only while the kernel keeps free slots
  // cached on another CPU: submitting on fills the context, and then it
  // refuses. Either way the refusal must come, and be EAGAIN.
  let inKernel = accepted;
  let refused: unknown;
  for (let round = 0; round < 20 && refused === undefined; round++) {
    try {
      inKernel += ctx.submit(cbs.slice(inKernel));
    } catch (err) {
      refused = err;
    }
  }
  assert.ok(refused instanceof AioError && refused.code === 'EAGAIN' && refused.errno === -11 &&
    refused.syscall === 'io_submit' && /full/.test(refused.hint ?? ''), `a full context must refuse with EAGAIN, got ${String(refused)}`);
  assert.ok(inKernel >= 1 && inKernel <= cap, `${inKernel} in flight, capacity ${cap}`);
  assert.equal(ctx.inFlight, inKernel);
  assert.ok(ctx.stats().eagain > 0);
  const rest = cbs.slice(inKernel);
  for (const cb of rest) assert.equal(cb.inFlight, false);
  // An empty submit is not "full": it takes nothing and says so.
  assert.equal(ctx.submit([]), 0);
  // Reap them: now one more fits.
  const got = ctx.getEvents(inKernel, inKernel);
  assert.equal(got.length, inKernel);
  for (const ev of got) assert.equal(ev.res, BS);
  assert.equal(ctx.submit(rest.slice(0, 1)), 1);
  assert.equal(ctx.getEvents(1, 1)[0]!.obj, rest[0]);
});

test('batches of every shape reach the kernel whole: empty on a new context, 1, 2, 128, 129 and 300 requests', (t) => {
  const { skip } = diskDir();
  if (skip) return t.skip(skip);
  const sizes = [0, 1, 2, 128, 129, 300, 0, 2];
  const blocks = Math.max(...sizes);
  const { fd, path } = openDirect(blocks * BS, 'shapes');
  const w = IoContext.setup(blocks);
  t.after(() => {
    w.destroy();
    fs.closeSync(fd);
    fs.rmSync(path, { force: true });
  });
  // An empty submit first, before any batch has shaped the call's argument list.
  assert.equal(w.submit([]), 0);
  const src = Array.from({ length: blocks }, (_, i) => {
    const b = allocAligned(BS);
    fillBlock(b, i);
    return new Iocb().prepPwrite(fd, b, i * BS);
  });
  assert.equal(w.submit(src), blocks);
  assert.equal(w.getEvents(blocks, blocks).filter((e) => e.res === BS).length, blocks);
  for (const n of sizes) {
    const bufs = Array.from({ length: n }, () => allocAligned(BS));
    // Each batch reads the blocks in reverse, so a buffer given to the wrong row shows.
    const cbs = bufs.map((b, k) => new Iocb().prepPread(fd, b, (n - 1 - k) * BS));
    assert.equal(w.submit(cbs), n, `a batch of ${n}`);
    const evs = n === 0 ? [] : w.getEvents(n, n);
    assert.equal(evs.length, n);
    for (const ev of evs) assert.equal(ev.res, BS, `a batch of ${n}: ${ev.res}`);
    bufs.forEach((b, k) => checkBlock(b, n - 1 - k));
  }
});
