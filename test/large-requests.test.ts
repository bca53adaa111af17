/**
 * Requests longer than the kernel's cap. Linux ends
 * one read or write at MAX_RW_COUNT, 2,147,479,552 bytes; AioFile splits
 * longer requests into aligned pieces, so that write() writes every byte and
 * a read is short only at the end of the file, on every engine. Node's fs
 * refuses lengths of 2 GiB and more synchronously: the thread pool must
 * still settle (and close() still resolve).
 *
 * These tests need one 2 GiB + 1 MiB buffer and a sparse file of that size
 * on a disk file system; they skip, with the reason, where the memory or the
 * disk is not there.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { open, allocAligned, type AioFile } from '../src/index.js';
import { diskDir, tempPath } from './helpers/disk.js';
import { forceGC } from './helpers/gc.js';
import { uringAvailability } from '../src/engine/select.js';
import { KERNEL_ENGINE } from './helpers/engine.js';

const MiB = 1 << 20;
const GiB = 1 << 30;
const MAX_RW_COUNT = 0x7ffff000;
const BIG = 2 * GiB + MiB;
const MARK = 4096;
/** Where the markers go: the start, the kernel's cut, and the last block. */
const MARKS = [0, MAX_RW_COUNT, BIG - MARK];

function availableMemory(): number {
  const m = /^MemAvailable:\s+(\d+) kB/m.exec(fs.readFileSync('/proc/meminfo', 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

/** Why these tests cannot run here, or undefined. */
function skipReason(): string | undefined {
  const { dir, skip } = diskDir();
  if (skip) return skip;
  const memory = availableMemory();
  if (memory < 6 * GiB) return `needs 6 GiB of available memory for 2 GiB buffers, this machine has ${(memory / GiB).toFixed(1)} GiB`;
  const st = fs.statfsSync(dir!);
  const free = Number(st.bavail) * Number(st.bsize);
  if (free < GiB) return `needs 1 GiB free on ${dir} for sparse files, has ${(free / GiB).toFixed(1)} GiB`;
  return undefined;
}

function mark(at: number): Buffer {
  const b = Buffer.alloc(MARK, (at / MARK) % 251 + 1);
  b.writeDoubleLE(at, 0);
  return b;
}

/** A sparse file of BIG bytes with a marker block at each of MARKS; removed after the test. */
function sparseFile(t: TestContext): string {
  const path = tempPath('large');
  const fd = fs.openSync(path, 'w');
  fs.ftruncateSync(fd, BIG);
  for (const at of MARKS) fs.writeSync(fd, mark(at), 0, MARK, at);
  fs.closeSync(fd);
  t.after(() => fs.rmSync(path, { force: true }));
  return path;
}

function assertMarks(buf: Uint8Array, base = 0): void {
  for (const at of MARKS) {
    if (at < base || at + MARK > base + buf.byteLength) continue;
    assert.ok(Buffer.from(buf.buffer, buf.byteOffset + at - base, MARK).equals(mark(at)), `the block at ${at} arrived`);
  }
}

/** close() must resolve: a request that never settled would hang it for ever. */
async function closes(file: AioFile): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`close() hung with ${file.inFlight} in flight`)), 5000);
  });
  try {
    await Promise.race([file.close(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

let big: Buffer | undefined;
/** One BIG aligned buffer shared by the tests of this file, so that at most one lives at a time. */
function bigBuffer(): Buffer {
  big ??= allocAligned(BIG);
  return big;
}

test('readAt of more than the kernel cap returns every byte asked for', async (t) => {
  const why = skipReason();
  if (why) return t.skip(why);
  const path = sparseFile(t);
  const file = await open(path, 'r');
  try {
    // An aligned span of MAX_RW_COUNT + 4096 bytes, ending 1 MiB before the end of the file.
    const length = MAX_RW_COUNT + 1000;
    let got: Buffer | undefined = await file.readAt(100, length);
    assert.equal(got.length, length, 'readAt is short only at the end of the file');
    assert.ok(got.subarray(0, 100).equals(mark(0).subarray(100, 200)));
    const cut = MAX_RW_COUNT - 100;
    assert.ok(got.subarray(cut, cut + 1000).equals(mark(MAX_RW_COUNT).subarray(0, 1000)), 'the bytes past the cut are the file\'s');
    got = undefined;
  } finally {
    await closes(file);
  }
  forceGC(); // the 2 GiB span goes before the next test takes its buffer
});

test(`read and readv of 2 GiB + 1 MiB on the kernel engine (${KERNEL_ENGINE}, O_DIRECT) return every byte`, async (t) => {
  const why = skipReason();
  if (why) return t.skip(why);
  const path = sparseFile(t);
  const file = await open(path, 'r');
  assert.equal(file.engine, KERNEL_ENGINE);
  try {
    const buf = bigBuffer();
    buf.fill(0xee, 0, 64 * MiB);
    assert.equal(await file.read(buf, 0), BIG, 'read is not cut at 2,147,479,552');
    assertMarks(buf);
    assert.equal(buf[64 * MiB - 1], 0, 'a hole reads as zeros');
    const half = BIG / 2;
    buf.fill(0xee, 0, MARK);
    buf.fill(0xee, BIG - MARK);
    assert.equal(await file.readv([buf.subarray(0, half), buf.subarray(half)], 0), BIG, 'readv is not cut either');
    assertMarks(buf);
    // At the end of the file a read is short, as documented: 1 MiB remains past the cut.
    assert.equal(await file.read(buf.subarray(0, 2 * GiB), MAX_RW_COUNT - MiB + 4096), BIG - (MAX_RW_COUNT - MiB + 4096));
  } finally {
    await closes(file);
  }
});

test(`write and writev of 2 GiB + 1 MiB on the kernel engine (${KERNEL_ENGINE}) write every byte`, async (t) => {
  const why = skipReason();
  if (why) return t.skip(why);
  // /dev/null takes any write at once, and the kernel caps it as it caps a
  // file's: a quick check of the whole count. The read tests above check
  // that every piece goes to its own place.
  const file = await open('/dev/null', 'w', { direct: false, engine: KERNEL_ENGINE });
  try {
    const buf = bigBuffer();
    assert.equal(await file.write(buf, 0), BIG, 'write is not cut at 2,147,479,552');
    assert.equal(await file.writev([buf.subarray(0, MiB), buf.subarray(MiB)], 0), BIG);
  } finally {
    await closes(file);
  }
});

for (const engine of ['aio', 'uring'] as const) {
  test(`writeAt of 2 GiB + 1 MiB on ${engine} writes every byte, as write() does`, async (t) => {
    const why = skipReason() ?? (engine === 'uring' && !uringAvailability().usable ? `io_uring is not usable here: ${uringAvailability().reason}` : undefined);
    if (why) return t.skip(why);
    // As above: /dev/null caps one write at MAX_RW_COUNT as a file does, so a
    // writeAt sent whole would come back short (an error before the split).
    const file = await open('/dev/null', 'w', { direct: false, engine });
    assert.equal(file.engine, engine);
    try {
      assert.equal(await file.writeAt(0, bigBuffer()), BIG, 'writeAt is not cut at 2,147,479,552');
    } finally {
      await closes(file);
    }
  });
}

test('the thread pool reads and writes 2 GiB + 1 MiB, and close() still resolves', async (t) => {
  const why = skipReason();
  if (why) return t.skip(why);
  const path = sparseFile(t);
  const file = await open(path, 'r', { engine: 'threadpool' });
  const sink = await open('/dev/null', 'w', { direct: false, engine: 'threadpool' });
  assert.equal(file.engine, 'threadpool');
  assert.equal(sink.engine, 'threadpool');
  try {
    const buf = bigBuffer();
    buf.fill(0xee, 0, MARK);
    assert.equal(await file.read(buf, 0), BIG, 'fs.read refuses 2 GiB: the request is split');
    assertMarks(buf);
    assert.equal(await sink.write(buf, 0), BIG);
  } finally {
    await closes(file);
    await closes(sink);
  }
  assert.equal(file.inFlight, 0);
});
