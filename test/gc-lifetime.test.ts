/**
 * Lifetimes under a forced garbage collector: buffers handed to the kernel
 * stay alive until their completion is reaped, whatever the caller drops;
 * they are released afterwards; a context dropped with requests in flight
 * stays pinned (and the process healthy), and an idle context dropped by its
 * owner is destroyed by the collector instead of leaking its kernel context.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import { setImmediate as tick, setTimeout as sleep } from 'node:timers/promises';
import { IoContext, Iocb, POLL, allocAligned, type IoEvent } from '../src/index.js';
import { native } from '../src/core/native.js';
import { diskDir, openDirect } from './helpers/disk.js';
import { forceGC } from './helpers/gc.js';
import { makeFifo } from './helpers/fifo.js';

const BS = 4096;
const READ = 64 * 1024;
const COUNT = 96;

/** Block b of the file starts with uint32 b and is filled with (b * 13) & 0xff. */
function blockByte(b: number): number {
  return (b * 13 + 1) & 0xff;
}

function writeKnownFile(fd: number, bytes: number): void {
  const buf = allocAligned(bytes);
  for (let b = 0; b < bytes / BS; b++) {
    buf.fill(blockByte(b), b * BS, (b + 1) * BS);
    buf.writeUInt32LE(b, b * BS);
  }
  assert.equal(fs.writeSync(fd, buf, 0, bytes, 0), bytes);
}

function checkRead(buf: Buffer, offset: number): void {
  for (let o = 0; o < buf.length; o += BS) {
    const b = (offset + o) / BS;
    if (buf.readUInt32LE(o) !== b) assert.fail(`block ${b}: header ${buf.readUInt32LE(o)}`);
    for (let k = o + 4; k < o + BS; k++) {
      if (buf[k] !== blockByte(b)) assert.fail(`block ${b}: byte ${k - o} is ${buf[k]}, expected ${blockByte(b)}`);
    }
  }
}

async function gcHard(rounds = 3): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    await tick(); // let WeakRefs made in this turn go, and finalizers run
    forceGC();
  }
  await tick();
}

function aioMappings(): number {
  return fs.readFileSync('/proc/self/maps', 'utf8').split('\n').filter((l) => l.includes('[aio]')).length;
}

/**
 * Submits COUNT reads into fresh buffers and keeps nothing but weak
 * references: the Iocbs and buffers are reachable only through the library.
 */
function submitUnreferenced(ctx: IoContext, fd: number): { buffers: WeakRef<Buffer>[]; iocbs: WeakRef<Iocb>[] } {
  const cbs: Iocb[] = [];
  for (let i = 0; i < COUNT; i++) {
    const buf = allocAligned(READ).fill(0x5c);
    const cb = new Iocb().prepPread(fd, buf, i * READ);
    cb.data = i;
    cbs.push(cb);
  }
  let done = 0;
  while (done < cbs.length) done += ctx.submit(cbs.slice(done));
  return { buffers: cbs.map((c) => new WeakRef(c.buffer as Buffer)), iocbs: cbs.map((c) => new WeakRef(c)) };
}

function checkEvents(events: IoEvent[], iocbs: WeakRef<Iocb>[]): void {
  assert.equal(events.length, COUNT);
  const seen = new Set<number>();
  for (const ev of events) {
    const i = ev.data as number;
    assert.ok(!seen.has(i));
    seen.add(i);
    assert.equal(ev.res, READ, `read ${i}: res ${ev.res}`);
    assert.equal(ev.obj, iocbs[i]!.deref());
    checkRead(ev.obj.buffer as Buffer, i * READ);
  }
}

/** No memory but the read buffers was written by the kernel. */
function checkBallast(ballast: Buffer[]): void {
  for (const b of ballast) {
    if (!b.every((x) => x === 0xee)) assert.fail('memory outside the read buffers was overwritten');
  }
}

test('reads into buffers nobody references survive forced GC, with the right data', async (t) => {
  const { skip } = diskDir();
  if (skip) return t.skip(skip);
  const { fd, path } = openDirect(0, 'gc');
  const ctx = IoContext.setup(128);
  t.after(() => {
    ctx.destroy();
    fs.closeSync(fd);
    fs.rmSync(path, { force: true });
  });
  assert.ok(ctx.capacity >= COUNT);
  writeKnownFile(fd, COUNT * READ);

  for (let round = 0; round < 3; round++) {
    const weak = submitUnreferenced(ctx, fd);
    assert.equal(ctx.inFlight, COUNT);
    // Pressure while the kernel works: collections, and lots of other
    // memory that a freed buffer could be reused for.
    const ballast: Buffer[] = [];
    for (let i = 0; i < 8; i++) {
      forceGC();
      for (let k = 0; k < 16; k++) ballast.push(Buffer.alloc(64 * 1024, 0xee));
      const junk = Array.from({ length: 20_000 }, (_, j) => ({ j, s: `x${j}` }));
      assert.equal(junk.length, 20_000);
    }
    await gcHard();
    // Reaped or not, everything submitted is still alive.
    for (const w of weak.buffers) assert.ok(w.deref(), 'a buffer in flight was collected');
    for (const w of weak.iocbs) assert.ok(w.deref(), 'an Iocb in flight was collected');

    let events: IoEvent[] = [];
    while (events.length < COUNT) events.push(...(await ctx.waitEvents(1, COUNT, 5000)));
    // (Checked in plain functions: an async function's suspended frame may
    // keep a dead loop variable, and so an event, alive.)
    checkEvents(events, weak.iocbs);
    checkBallast(ballast);
    // Reaped and dropped: now the buffers go (nothing leaks).
    events = [];
    ballast.length = 0;
    await gcHard(4);
    const alive = weak.buffers.map((w, i) => (w.deref() !== undefined ? i : -1)).filter((i) => i >= 0);
    assert.deepEqual(alive, [], `buffers ${alive.join(', ')} still alive after their completions were reaped and dropped`);
  }
  assert.equal(ctx.inFlight, 0);
});

test('a context dropped with requests in flight stays pinned and the process healthy', async (t) => {
  const { skip } = diskDir();
  if (skip) return t.skip(skip);
  const { fd, path } = openDirect(0, 'gc-busy');
  const fifo = makeFifo();
  t.after(() => {
    fs.closeSync(fd);
    fs.rmSync(path, { force: true });
    fifo.close();
  });
  writeKnownFile(fd, COUNT * READ);
  const liveBefore = native.liveContexts();
  const weakCtx = ((): WeakRef<IoContext> => {
    const ctx = IoContext.setup(128);
    submitUnreferenced(ctx, fd);
    ctx.submit([new Iocb().prepPoll(fifo.readFd, POLL.IN)]);
    return new WeakRef(ctx);
  })();
  for (let i = 0; i < 5; i++) {
    await gcHard();
    Array.from({ length: 10_000 }, (_, j) => [j]);
    await sleep(5);
  }
  assert.equal(native.liveContexts(), liveBefore + 1, 'a busy context was destroyed or lost');
  const ctx = weakCtx.deref();
  assert.ok(ctx, 'a context with requests in flight was collected');
  assert.equal(ctx.destroyed, false);

  // Other I/O goes on meanwhile.
  using other = IoContext.setup(8);
  const mine = new Iocb().prepPread(fd, allocAligned(READ), READ);
  other.submit([mine]);
  const [ev] = await other.waitEvents(1, 1, 5000);
  assert.equal(ev!.res, READ);
  checkRead(mine.buffer as Buffer, READ);

  // The dropped context still holds everything, with the right data.
  fifo.write();
  const evs: IoEvent[] = [];
  while (evs.length < COUNT + 1) evs.push(...(await ctx.waitEvents(1, 256, 5000)));
  for (const e of evs) {
    if (e.obj.opcode === POLL_OPCODE) assert.ok((e.res & POLL.IN) !== 0);
    else checkRead(e.obj.buffer as Buffer, (e.data as number) * READ);
  }
  ctx.destroy();
  other.destroy();
  fifo.close();
  assert.equal(native.liveContexts(), liveBefore);
});

const POLL_OPCODE = 5;

test('an idle context dropped without destroy() is destroyed by the collector', async () => {
  const liveBefore = native.liveContexts();
  const mapsBefore = aioMappings();
  ((): void => {
    for (let i = 0; i < 5; i++) {
      const ctx = IoContext.setup(8);
      // Used once, then dropped: nothing in flight.
      void ctx.getEvents(0, 1);
    }
  })();
  assert.equal(native.liveContexts(), liveBefore + 5);
  assert.equal(aioMappings(), mapsBefore + 5);
  for (let i = 0; i < 20 && native.liveContexts() > liveBefore; i++) {
    await gcHard();
    await sleep(10);
  }
  assert.equal(native.liveContexts(), liveBefore, 'dropped idle contexts were never destroyed: their kernel contexts leak');
  assert.equal(aioMappings(), mapsBefore, 'the kernel rings of dropped contexts are still mapped');
});

test('a process that exits with dropped busy contexts exits cleanly', (t) => {
  const { skip, dir } = diskDir();
  if (skip) return t.skip(skip);
  const index = new URL('../src/index.js', import.meta.url).href;
  const gc = new URL('./helpers/gc.js', import.meta.url).href;
  const fifoHelper = new URL('./helpers/fifo.js', import.meta.url).href;
  const code = `
    import fs from 'node:fs';
    import path from 'node:path';
    import { IoContext, Iocb, POLL, allocAligned } from ${JSON.stringify(index)};
    import { forceGC } from ${JSON.stringify(gc)};
    import { makeFifo } from ${JSON.stringify(fifoHelper)};
    const file = path.join(${JSON.stringify(dir)}, 'gc-exit-' + process.pid);
    const fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_DIRECT, 0o600);
    fs.ftruncateSync(fd, 1 << 20);
    const fifo = makeFifo();
    (() => {
      for (let c = 0; c < 3; c++) {
        const ctx = IoContext.setup(64);
        const cbs = Array.from({ length: 32 }, (_, i) => new Iocb().prepPread(fd, allocAligned(4096), i * 4096));
        cbs.push(new Iocb().prepPoll(fifo.readFd, POLL.IN));
        ctx.submit(cbs);
        // a waiter too, never satisfied
        ctx.waitEvents(1000, 1000).catch(() => {});
      }
    })();
    forceGC();
    setTimeout(() => { forceGC(); fs.rmSync(file); fifo.close(); console.log('done'); process.exit(0); }, 50);
  `;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(child.signal, null, `child killed by ${child.signal}: ${child.stderr}`);
  assert.equal(child.status, 0, child.stderr);
  assert.equal(child.stdout.trim(), 'done');
});
