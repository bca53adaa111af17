/**
 * The garbage collector against I/O in flight (design rule 5): the
 * caller drops every reference to the buffers of its requests, collections
 * are forced while the kernel still reads and writes them, and fresh memory
 * is allocated meanwhile. Direct I/O pins the pages at submission, so if the
 * library let a buffer be freed, the allocator would hand the same memory
 * out again and the kernel's transfer would land in (or come from) the
 * fresh allocation. Afterwards:
 *  - no fresh allocation holds a byte pattern that only the disk has;
 *  - every read holds the right bytes (where the test can still see them:
 *    a copy it kept, or the IoEvent's Iocb, which the context keeps);
 *  - writes from dropped buffers put exactly their bytes on disk;
 *  - once reaped, the dropped buffers are collected (nothing stays pinned).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { IoContext, IoQueue, Iocb, allocAligned, open, type AioFile } from '../src/index.js';
import { diskDir, tempPath, writeUncached } from './helpers/disk.js';
import { forceGC } from './helpers/gc.js';

const { skip } = diskDir();
const FILE_SIZE = 32 << 20;
const SECTOR = 512;
const READ = 256 << 10;
const ROUNDS = 4;
const PER_ROUND = 512;

/** 16 bytes that appear only in the test file: the probe for stray kernel writes. */
const DISK_MARK = Buffer.from('\x9dLINUX-AIO-DISK\x9e', 'latin1');
/** The same for what the write test puts on disk. */
const WRITE_MARK = Buffer.from('\x8cLINUX-AIO-WRIT\x8d', 'latin1');

/** Each 512-byte sector: the mark, its sector number, then a fill byte derived from it. */
function pattern(mark: Buffer, start: number, length: number): Buffer {
  const b = Buffer.allocUnsafe(length);
  for (let s = 0; s < length; s += SECTOR) {
    const sector = (start + s) / SECTOR;
    b.fill((sector * 37 + 11) & 0xff, s, s + SECTOR);
    mark.copy(b, s);
    b.writeUInt32LE(sector, s + 16);
  }
  return b;
}

let sharedFile: string | undefined;
function patternFile(): string {
  if (sharedFile) return sharedFile;
  sharedFile = tempPath('gc-pattern');
  writeUncached(sharedFile, pattern(DISK_MARK, 0, FILE_SIZE));
  return sharedFile;
}

/**
 * Fresh (zero-filled) allocations made exactly as the dropped buffers were,
 * so that the allocator hands out their memory again if it was freed. (A
 * mutation test that unpins buffers in flight shows that this is what finds
 * the bug: allocations of another size do not.)
 */
class FreshMemory {
  readonly chunks: Uint8Array[] = [];
  allocate(n: number, size: number, alignment: number): void {
    for (let i = 0; i < n; i++) this.chunks.push(allocAligned(size, alignment));
  }
  /** How many chunks hold the mark anywhere. */
  tainted(mark: Buffer): number {
    let n = 0;
    for (const c of this.chunks) if (Buffer.from(c.buffer, c.byteOffset, c.byteLength).indexOf(mark) >= 0) n++;
    return n;
  }
  bytes(): number {
    return this.chunks.reduce((s, c) => s + c.byteLength, 0);
  }
}

const tick = (): Promise<void> => new Promise((r) => process.nextTick(r));
const immediate = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Collects until `done()` or 20 rounds: finalizers run in a task after the collection that found their object. */
async function settleFinalizers(done: () => boolean): Promise<void> {
  for (let i = 0; i < 20 && !done(); i++) {
    forceGC();
    await new Promise((r) => setTimeout(r, 5));
  }
}

function offsets(seed: number, n: number, length: number): number[] {
  let x = seed >>> 0 || 1;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    out.push((x % ((FILE_SIZE - length) / SECTOR + 1)) * SECTOR);
  }
  return out;
}

/*
 * The requests are made in small functions of their own: a closure made in
 * the same scope as a buffer keeps that buffer alive (V8 shares one context
 * per scope), which would hide exactly the bug looked for.
 */

/** A read whose buffer nothing but the library refers to; resolves to the byte count. */
function droppedRead(f: AioFile, off: number, registry: FinalizationRegistry<null>): Promise<number> {
  const buf = allocAligned(READ, f.alignment.memory).fill(0xee);
  registry.register(buf, null);
  return f.read(buf, off);
}

/** A read whose buffer is kept and checked. */
function keptRead(f: AioFile, off: number, expected: Buffer): Promise<void> {
  const buf = allocAligned(READ, f.alignment.memory).fill(0xee);
  return f.read(buf, off).then((n) => {
    assert.equal(n, READ);
    if (!buf.equals(expected.subarray(off, off + READ))) assert.fail(`read at ${off} holds wrong bytes`);
  });
}

/** A write from a buffer nothing but the library refers to. */
function droppedWrite(f: AioFile, off: number, length: number): Promise<number> {
  const buf = allocAligned(length, f.alignment.memory);
  pattern(WRITE_MARK, off, length).copy(buf);
  return f.write(buf, off);
}

/** Forces collections and allocates while the queue has work; returns how many ran with requests in the kernel. */
async function churnWhileBusy(q: IoQueue, fresh: FreshMemory, n: number, size: number, alignment: number): Promise<number> {
  let inFlight = 0;
  while (q.stats().inFlight > 0 || q.stats().queued > 0) {
    if (q.stats().inFlight > 0) inFlight++;
    forceGC();
    fresh.allocate(n, size, alignment);
    await immediate();
  }
  return inFlight;
}

test('gc: reads into dropped buffers (open()/IoQueue) while collections run and memory is reused', { skip, timeout: 120_000 }, async (t) => {
  const expected = pattern(DISK_MARK, 0, FILE_SIZE);
  const q = new IoQueue({ depth: 256 });
  const f = await open(patternFile(), 'r', { queue: q });
  const fresh = new FreshMemory();
  const finalized = { n: 0 };
  const registry = new FinalizationRegistry<null>(() => finalized.n++);
  let dropped = 0;
  let kept = 0;
  let gcsInFlight = 0;
  const counts: Promise<number>[] = [];
  const checks: Promise<void>[] = [];

  for (let round = 0; round < ROUNDS; round++) {
    for (const [i, off] of offsets(round + 1, PER_ROUND, READ).entries()) {
      if (i % 4 === 0) {
        checks.push(keptRead(f, off, expected));
        kept++;
      } else {
        counts.push(droppedRead(f, off, registry));
        dropped++;
      }
    }
    await tick(); // the queue's flush has run: up to 256 requests are in the kernel
    assert.ok(q.stats().inFlight > 0, 'nothing in flight after the flush');
    gcsInFlight += await churnWhileBusy(q, fresh, 48, READ, f.alignment.memory);
  }
  await Promise.all(checks);
  assert.deepEqual(await Promise.all(counts), new Array(dropped).fill(READ));
  await f.close();

  t.diagnostic(`${dropped} reads into dropped buffers, ${kept} checked, ${gcsInFlight} forced collections with reads in the kernel, ${(fresh.bytes() / 1048576).toFixed(0)} MiB allocated meanwhile`);
  assert.ok(gcsInFlight >= ROUNDS, `only ${gcsInFlight} collections ran with I/O in flight`);
  const tainted = fresh.tainted(DISK_MARK);
  assert.equal(tainted, 0, `${tainted} fresh allocations hold bytes from the disk: the kernel wrote into freed buffers`);
  // Every one, with the queue still open: a buffer held once its request is
  // reaped is a pin the library leaked (closing the queue would hide it).
  await settleFinalizers(() => finalized.n === dropped);
  const collected = finalized.n;
  await q.close();
  assert.equal(collected, dropped, `only ${collected} of ${dropped} dropped buffers were collected after their completion`);
});

test('gc: writes from dropped buffers land intact (open()/IoQueue)', { skip, timeout: 120_000 }, async (t) => {
  const path = tempPath('gc-write');
  const q = new IoQueue({ depth: 128 });
  const f = await open(path, 'w+', { size: FILE_SIZE, queue: q });
  const fresh = new FreshMemory();
  const WRITE = 128 << 10;
  const count = FILE_SIZE / WRITE;
  const results: Promise<number>[] = [];
  for (let i = 0; i < count; i++) results.push(droppedWrite(f, i * WRITE, WRITE));
  await tick();
  // Zero-filled allocations of the same size: a source buffer freed and
  // handed out again here would put zeros on disk.
  const gcsInFlight = await churnWhileBusy(q, fresh, 24, WRITE, f.alignment.memory);
  assert.deepEqual(await Promise.all(results), new Array(count).fill(WRITE));
  await f.close();
  await q.close();
  t.diagnostic(`${count} writes of ${WRITE / 1024} KiB from dropped buffers, ${gcsInFlight} forced collections in flight`);
  assert.ok(gcsInFlight > 0);
  const disk = fs.readFileSync(path);
  assert.ok(disk.equals(pattern(WRITE_MARK, 0, FILE_SIZE)), 'the file does not hold exactly what was written');
  assert.equal(fresh.tainted(WRITE_MARK), 0);
});

/** Submits reads whose Iocbs and buffers nothing but the context refers to. */
function submitDropped(ctx: IoContext, fd: number, seed: number, registry: FinalizationRegistry<null>): number {
  const batch = offsets(seed, 256, READ).map((off) => {
    const buf = allocAligned(READ).fill(0xee);
    registry.register(buf, null);
    return new Iocb().prepPread(fd, buf, off);
  });
  let n = 0;
  while (n < batch.length) n += ctx.submit(batch.slice(n));
  return n;
}

/** Waits for some completions and checks them; the event's Iocb is the only way back to its buffer. */
async function reapAndCheck(ctx: IoContext, expected: Buffer): Promise<number> {
  const got = await ctx.waitEvents(1, ctx.capacity);
  for (const ev of got) {
    assert.equal(ev.res, READ);
    const buf = ev.obj.buffer as Buffer;
    const off = ev.obj.offset;
    if (!buf.equals(expected.subarray(off, off + READ))) assert.fail(`read at ${off} holds wrong bytes`);
  }
  return got.length;
}

test('gc: the low-level IoContext keeps dropped Iocbs and buffers alive until reaped', { skip, timeout: 120_000 }, async (t) => {
  const expected = pattern(DISK_MARK, 0, FILE_SIZE);
  const fd = fs.openSync(patternFile(), fs.constants.O_RDONLY | fs.constants.O_DIRECT);
  const ctx = IoContext.setup(256);
  const fresh = new FreshMemory();
  const finalized = { n: 0 };
  const registry = new FinalizationRegistry<null>(() => finalized.n++);
  let reaped = 0;
  let submitted = 0;
  let gcsInFlight = 0;
  try {
    for (let round = 0; round < ROUNDS; round++) {
      submitted += submitDropped(ctx, fd, 100 + round, registry);
      while (ctx.inFlight > 0) {
        gcsInFlight++;
        forceGC();
        fresh.allocate(48, READ, 4096);
        reaped += await reapAndCheck(ctx, expected);
      }
    }
  } finally {
    ctx.destroy();
    fs.closeSync(fd);
  }
  t.diagnostic(`${submitted} reads, ${gcsInFlight} forced collections in flight`);
  assert.equal(reaped, submitted);
  const tainted = fresh.tainted(DISK_MARK);
  assert.equal(tainted, 0, `${tainted} fresh allocations hold bytes from the disk`);
  await settleFinalizers(() => finalized.n === submitted);
  assert.equal(finalized.n, submitted, `only ${finalized.n} of ${submitted} buffers were collected after reaping`);
});

test('gc: a buffer detached (transferred) before its request reaches the kernel is refused with TypeError, nothing else breaks', { skip }, async () => {
  const f = await open(patternFile(), 'r');
  try {
    const buf = allocAligned(READ, f.alignment.memory);
    const p = f.read(buf, 0);
    // Still queued (the flush is a nextTick away): transfer its memory elsewhere.
    const ab = buf.buffer as ArrayBuffer;
    const moved = structuredClone(ab, { transfer: [ab] });
    assert.equal(buf.byteLength, 0);
    await assert.rejects(p, TypeError);
    assert.equal(moved.byteLength, READ + f.alignment.memory);
    // The file and its queue go on.
    const ok = allocAligned(READ, f.alignment.memory);
    assert.equal(await f.read(ok, 0), READ);
    assert.ok(ok.equals(pattern(DISK_MARK, 0, READ)));
  } finally {
    await f.close();
  }
});

/** Allocates and collects for a while, so that memory freed too early would be handed out again. */
async function churn(fresh: FreshMemory, size: number, alignment: number): Promise<void> {
  for (let i = 0; i < 6; i++) {
    forceGC();
    fresh.allocate(32, size, alignment);
    await immediate();
  }
}

test('destroy() with reads and writes of dropped buffers in the kernel: it waits for them, and no freed memory is written', { skip, timeout: 120_000 }, async (t) => {
  const fd = fs.openSync(patternFile(), fs.constants.O_RDONLY | fs.constants.O_DIRECT);
  const out = tempPath('destroy-writes');
  const wfd = fs.openSync(out, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_DIRECT, 0o600);
  t.after(() => {
    fs.closeSync(fd);
    fs.closeSync(wfd);
    fs.rmSync(out, { force: true });
  });
  fs.ftruncateSync(wfd, 64 * READ);
  const fresh = new FreshMemory();
  const finalized = { n: 0 };
  const registry = new FinalizationRegistry<null>(() => finalized.n++);
  let submitted = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const ctx = IoContext.setup(512);
    submitted += submitDropped(ctx, fd, 900 + round, registry);
    // Writes from dropped buffers too, into a file of their own.
    ((): void => {
      const writes = Array.from({ length: 64 }, (_, i) => {
        const buf = allocAligned(READ);
        pattern(WRITE_MARK, i * READ, READ).copy(buf);
        registry.register(buf, null);
        return new Iocb().prepPwrite(wfd, buf, i * READ);
      });
      let n = 0;
      while (n < writes.length) n += ctx.submit(writes.slice(n));
      submitted += n;
    })();
    assert.ok(ctx.inFlight > 0, 'nothing in flight to destroy');
    ctx.destroy(); // with everything still in the kernel, or just finished there
    assert.equal(ctx.inFlight, 0);
    await churn(fresh, READ, 4096);
  }
  const tainted = fresh.tainted(DISK_MARK) + fresh.tainted(WRITE_MARK);
  assert.equal(tainted, 0, `${tainted} fresh allocations hold bytes of the disk or of the writes: the kernel wrote into, or read from, freed buffers`);
  // The writes all landed, whole: destroy() waited for them.
  assert.ok(fs.readFileSync(out).equals(pattern(WRITE_MARK, 0, 64 * READ)), 'the file does not hold exactly what was written before destroy()');
  // And once destroyed, nothing stays pinned.
  await settleFinalizers(() => finalized.n === submitted);
  assert.equal(finalized.n, submitted, `only ${finalized.n} of ${submitted} buffers were collected after destroy()`);
});

test('AioFile.close() and IoQueue.close() with reads and writes of dropped buffers in flight: every request completes, no freed memory is written', { skip, timeout: 120_000 }, async (t) => {
  const out = tempPath('close-writes');
  t.after(() => fs.rmSync(out, { force: true }));
  const fresh = new FreshMemory();
  const finalized = { n: 0 };
  const registry = new FinalizationRegistry<null>(() => finalized.n++);
  let dropped = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const q = new IoQueue({ depth: 128 });
    const r = await open(patternFile(), 'r', { queue: q });
    const w = await open(out, round === 0 ? 'w+' : 'r+', { queue: q, size: 64 * READ });
    const results: Promise<number>[] = [];
    for (const off of offsets(700 + round, 256, READ)) {
      results.push(droppedRead(r, off, registry));
      dropped++;
    }
    for (let i = 0; i < 64; i++) {
      results.push(droppedWrite(w, i * READ, READ));
      dropped++;
    }
    // Close everything at once, in the same tick as the requests: the
    // files wait for their requests, the queue for the files'.
    const closed = Promise.all([r.close(), w.close(), q.close()]);
    await churn(fresh, READ, r.alignment.memory);
    assert.deepEqual(await Promise.all(results), new Array(256 + 64).fill(READ), 'a request did not complete whole');
    await closed;
    assert.equal(q.stats().inFlight, 0);
    assert.equal(q.stats().queued, 0);
    await churn(fresh, READ, r.alignment.memory);
  }
  const tainted = fresh.tainted(DISK_MARK) + fresh.tainted(WRITE_MARK);
  assert.equal(tainted, 0, `${tainted} fresh allocations hold bytes of the disk or of the writes`);
  assert.ok(fs.readFileSync(out).equals(pattern(WRITE_MARK, 0, 64 * READ)), 'the writes made before close() did not all land');
  // droppedWrite's buffers are not registered; the reads' are.
  await settleFinalizers(() => finalized.n === dropped - ROUNDS * 64);
  assert.equal(finalized.n, dropped - ROUNDS * 64, 'a buffer stayed pinned after close()');
});
