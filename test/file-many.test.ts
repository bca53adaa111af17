/**
 * The batch entry point, AioFile.readMany / writeMany: many ranges, one call
 * that settles once, ranges that touch merged into vectored requests (and,
 * with maxGap, reads that nearly touch), results in the caller's order, on
 * both engines; errors fail the batch only once every range is done, and the
 * access mode is checked first, as for one request.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { open, allocAligned, AioError, IoQueue, type AioFile, type OpenOptions } from '../src/index.js';
import { diskDir, tempPath } from './helpers/disk.js';

const BLOCK = 4096;
const BLOCKS = 64;

/** Block i of the file is filled with (i * 5 + 2) & 0xff. */
const byteOf = (block: number): number => (block * 5 + 2) & 0xff;

async function fixture(t: TestContext, options: OpenOptions = {}, flags = 'r'): Promise<{ file: AioFile; path: string } | undefined> {
  const { skip } = diskDir();
  if (skip) {
    t.skip(skip);
    return undefined;
  }
  const path = tempPath('many');
  const data = Buffer.alloc(BLOCKS * BLOCK);
  for (let i = 0; i < BLOCKS; i++) data.fill(byteOf(i), i * BLOCK, (i + 1) * BLOCK);
  fs.writeFileSync(path, data);
  const file = await open(path, flags, options);
  t.after(async () => {
    await file.close();
    fs.rmSync(path, { force: true });
  });
  return { file, path };
}

function assertBlock(buf: Buffer, block: number, what: string): void {
  assert.ok(buf[0] === byteOf(block) && buf[buf.length - 1] === byteOf(block) && buf.every((b) => b === byteOf(block)), `${what}: block ${block}`);
}

for (const engine of ['aio', 'threadpool'] as const) {
  test(`${engine}: readMany of scattered blocks, given out of order, fills each buffer with its block`, async (t) => {
    const f = await fixture(t, { engine, direct: engine === 'aio' });
    if (!f) return;
    const blocks = [40, 3, 17, 63, 0, 22, 9];
    const ranges = blocks.map((b) => ({ buf: allocAligned(BLOCK), position: b * BLOCK }));
    assert.deepEqual(await f.file.readMany(ranges), Array(blocks.length).fill(BLOCK));
    ranges.forEach((r, i) => assertBlock(r.buf, blocks[i]!, `range ${i}`));
    assert.equal(f.file.inFlight, 0);
  });
}

test('ranges that touch go to the kernel as one vectored request; coalesce: false sends one each', async (t) => {
  const queue = new IoQueue({ depth: 64 });
  t.after(() => queue.close());
  const f = await fixture(t, { queue });
  if (!f) return;
  // Blocks 10..17 in file order, then 30, then 12 again: three requests.
  // Ranges are merged in list order only: 12 after 30 is not.
  const blocks = [10, 11, 12, 13, 14, 15, 16, 17, 30, 12];
  const ranges = blocks.map((b) => ({ buf: allocAligned(BLOCK), position: b * BLOCK }));
  let before = queue.stats().submitted;
  assert.deepEqual(await f.file.readMany(ranges), Array(blocks.length).fill(BLOCK));
  assert.equal(queue.stats().submitted - before, 3, 'blocks 10-17 in one preadv, then 30, then 12');
  ranges.forEach((r, i) => assertBlock(r.buf, blocks[i]!, `range ${i}`));

  for (const r of ranges) r.buf.fill(0);
  before = queue.stats().submitted;
  assert.deepEqual(await f.file.readMany(ranges, { coalesce: false }), Array(blocks.length).fill(BLOCK));
  assert.equal(queue.stats().submitted - before, blocks.length);
  ranges.forEach((r, i) => assertBlock(r.buf, blocks[i]!, `uncoalesced range ${i}`));
});

test('maxGap merges reads that nearly touch, the gap read into scratch memory; a wider gap is not merged', async (t) => {
  const queue = new IoQueue({ depth: 64 });
  t.after(() => queue.close());
  const f = await fixture(t, { queue });
  if (!f) return;
  // 0 and 2 are one block apart, 2 and 3 touch, 3 and 7 are three blocks apart.
  const blocks = [0, 2, 3, 7];
  const ranges = blocks.map((b) => ({ buf: allocAligned(BLOCK), position: b * BLOCK }));
  const before = queue.stats().submitted;
  assert.deepEqual(await f.file.readMany(ranges, { coalesce: { maxGap: 2 * BLOCK } }), Array(4).fill(BLOCK));
  assert.equal(queue.stats().submitted - before, 2, '0-3 in one request (a one-block gap), 7 alone');
  ranges.forEach((r, i) => assertBlock(r.buf, blocks[i]!, `range ${i}`));
});

test('a merged read across the end of the file: each range gets its own share of the short read', async (t) => {
  const f = await fixture(t);
  if (!f) return;
  const blocks = [BLOCKS - 2, BLOCKS - 1, BLOCKS, BLOCKS + 1];
  const ranges = blocks.map((b) => ({ buf: allocAligned(BLOCK), position: b * BLOCK }));
  assert.deepEqual(await f.file.readMany(ranges), [BLOCK, BLOCK, 0, 0]);
  assertBlock(ranges[0]!.buf, BLOCKS - 2, 'range 0');
  assertBlock(ranges[1]!.buf, BLOCKS - 1, 'range 1');
});

test('writeMany writes every range (merged where they touch); maxGap is refused for writes', async (t) => {
  const f = await fixture(t, {}, 'r+');
  if (!f) return;
  const blocks = [5, 6, 7, 20, 50];
  const ranges = blocks.map((b) => ({ buf: allocAligned(BLOCK).fill(0xe0 + (b % 16)), position: b * BLOCK }));
  assert.deepEqual(await f.file.writeMany(ranges), Array(blocks.length).fill(BLOCK));
  await f.file.fsync();
  const disk = fs.readFileSync(f.path);
  for (const b of blocks) assert.ok(disk.subarray(b * BLOCK, (b + 1) * BLOCK).every((x) => x === 0xe0 + (b % 16)), `block ${b} written`);
  assert.ok(disk.subarray(8 * BLOCK, 9 * BLOCK).every((x) => x === byteOf(8)), 'block 8, between, untouched');
  await assert.rejects(f.file.writeMany(ranges, { coalesce: { maxGap: BLOCK } }), TypeError);
});

test('bad ranges are refused before anything is queued, naming the range', async (t) => {
  const queue = new IoQueue({ depth: 8 });
  t.after(() => queue.close());
  const f = await fixture(t, { queue });
  if (!f) return;
  const good = { buf: allocAligned(BLOCK), position: 0 };
  await assert.rejects(f.file.readMany('x' as never), TypeError);
  await assert.rejects(f.file.readMany([good, null as never]), /ranges\[1\]/);
  await assert.rejects(f.file.readMany([good, { buf: 'no' as never, position: 0 }]), /ranges\[1\]\.buf/);
  await assert.rejects(f.file.readMany([good, { buf: allocAligned(BLOCK), position: -4096 }]), /ranges\[1\]\.position/);
  await assert.rejects(f.file.readMany([good, { buf: allocAligned(BLOCK), position: 100 }]), { code: 'EINVAL' });
  await assert.rejects(f.file.readMany([good], { coalesce: 3 as never }), TypeError);
  assert.equal(queue.stats().submitted + queue.stats().queued, 0, 'nothing reached the queue');
  assert.deepEqual(await f.file.readMany([]), []);
  assert.equal(f.file.inFlight, 0);
});

test('a range the kernel refuses fails the batch once every range is done; the others still land', async (t) => {
  const f = await fixture(t);
  if (!f) return;
  // An unknown RWF flag makes the kernel refuse each request; with coalesce
  // off the batch is several requests, all refused, and the promise settles once.
  const ranges = [0, 1, 2].map((b) => ({ buf: allocAligned(BLOCK), position: b * 8 * BLOCK }));
  await assert.rejects(f.file.readMany(ranges, { flags: 0x40000000, coalesce: false }), { name: 'AioError' });
  assert.equal(f.file.inFlight, 0, 'every request was done with before the batch rejected');
  assert.deepEqual(await f.file.readMany(ranges), [BLOCK, BLOCK, BLOCK], 'the file works afterwards');
});

test('an aborted batch rejects with AbortError; a closed file refuses with EBADF', async (t) => {
  const f = await fixture(t);
  if (!f) return;
  const ranges = [0, 4, 8].map((b) => ({ buf: allocAligned(BLOCK), position: b * BLOCK }));
  const controller = new AbortController();
  const p = f.file.readMany(ranges, { signal: controller.signal });
  controller.abort();
  await assert.rejects(p, { name: 'AbortError' });
  await assert.rejects(f.file.readMany(ranges, { signal: AbortSignal.abort() }), { name: 'AbortError' });
  await f.file.close();
  await assert.rejects(f.file.readMany(ranges), { code: 'EBADF' });
});

test('readMany of a write-only file and writeMany of a read-only one say so, with the path, before the kernel', async (t) => {
  for (const engine of ['aio', 'threadpool'] as const) {
    const ranges = [0, 2].map((b) => ({ buf: allocAligned(BLOCK), position: b * BLOCK }));
    const w = await fixture(t, { engine }, 'w');
    if (!w) return;
    await assert.rejects(w.file.readMany(ranges), (err: AioError) => {
      assert.ok(err instanceof AioError, String(err));
      assert.equal(err.code, 'EBADF');
      assert.equal(err.syscall, 'readMany');
      assert.equal(err.path, w.path);
      assert.match(err.hint ?? '', /opened write-only \('w'\): open it with 'r\+' to read/);
      return true;
    }, engine);
    assert.equal(w.file.inFlight, 0);
    const r = await fixture(t, { engine }, 'r');
    if (!r) return;
    await assert.rejects(r.file.writeMany(ranges), { name: 'AioError', code: 'EBADF', syscall: 'writeMany', path: r.path }, engine);
    assert.deepEqual(await r.file.readMany(ranges), [BLOCK, BLOCK], 'reads still work');
  }
});
