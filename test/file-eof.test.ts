/**
 * The end of the file: O_DIRECT reads that reach past EOF are
 * short, reads that start past it give 0, and readAt() takes any range,
 * aligned or not, crossing EOF or empty, and returns exactly the bytes that
 * node:fs sees there.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { open, allocAligned, IoQueue, type AioFile } from '../src/index.js';
import { randomFile } from './helpers/disk.js';
import { KERNEL_ENGINE } from './helpers/engine.js';

const BLOCK = 4096;
const REMAINDER = 1000;
const SIZE = 5 * BLOCK + REMAINDER; // not a multiple of 4096

/** A file of SIZE random bytes written with node:fs, opened O_DIRECT; closed and removed after the test. */
async function fixture(t: TestContext, queue?: IoQueue): Promise<{ file: AioFile; data: Buffer; path: string } | undefined> {
  const fx = randomFile(t, SIZE, 'eof');
  if (!fx) return undefined;
  const { path, data } = fx;
  const file = await open(path, 'r', queue ? { queue } : {});
  t.after(async () => {
    await file.close();
    fs.rmSync(path, { force: true });
  });
  assert.equal(file.direct, true);
  assert.equal(file.engine, KERNEL_ENGINE);
  return { file, data, path };
}

test('a read of the last block returns the remainder', async (t) => {
  const f = await fixture(t);
  if (!f) return;
  const { file, data } = f;
  assert.equal((await file.stat()).size, SIZE);
  const buf = allocAligned(BLOCK, file.alignment.memory).fill(0x5a);
  const last = Math.floor(SIZE / BLOCK) * BLOCK;
  assert.equal(await file.read(buf, last), REMAINDER, 'bytes read = size % 4096');
  assert.ok(buf.subarray(0, REMAINDER).equals(data.subarray(last)), 'the remainder holds the file\'s last bytes');
  // (The bytes after the remainder are not checked: the device reads whole
  // sectors, so the kernel may fill the rest of the last sector.)
});

test('a read that spans full blocks and the partial last one returns the bytes up to EOF', async (t) => {
  const f = await fixture(t);
  if (!f) return;
  const { file, data } = f;
  const buf = allocAligned(4 * BLOCK, file.alignment.memory);
  const at = 3 * BLOCK;
  assert.equal(await file.read(buf, at), SIZE - at);
  assert.ok(buf.subarray(0, SIZE - at).equals(data.subarray(at)));
  // Vectored: three blocks from block 4, of which 1 block + REMAINDER exist.
  const pieces = [allocAligned(BLOCK), allocAligned(BLOCK), allocAligned(BLOCK)];
  assert.equal(await file.readv(pieces, 4 * BLOCK), BLOCK + REMAINDER);
  assert.ok(Buffer.concat(pieces).subarray(0, BLOCK + REMAINDER).equals(data.subarray(4 * BLOCK)));
});

test('reads that start at or past EOF return 0', async (t) => {
  const f = await fixture(t);
  if (!f) return;
  const { file } = f;
  const buf = allocAligned(BLOCK, file.alignment.memory);
  const end = Math.ceil(SIZE / BLOCK) * BLOCK; // first aligned position past EOF
  assert.equal(await file.read(buf, end), 0);
  assert.equal(await file.read(buf, end + 100 * BLOCK), 0);
  assert.equal(await file.readv([buf], end + BLOCK), 0);
});

test('many short reads at EOF in one batch each report their own count', async (t) => {
  const queue = new IoQueue({ depth: 64 });
  t.after(() => queue.close());
  const f = await fixture(t, queue);
  if (!f) return;
  const { file, data } = f;
  const before = queue.stats().submitCalls;
  const positions = [0, BLOCK, 2 * BLOCK, 3 * BLOCK, 4 * BLOCK, 5 * BLOCK, 6 * BLOCK, 7 * BLOCK];
  const bufs = positions.map(() => allocAligned(BLOCK, file.alignment.memory));
  const counts = await Promise.all(positions.map((p, i) => file.read(bufs[i]!, p)));
  assert.deepEqual(counts, positions.map((p) => Math.max(0, Math.min(BLOCK, SIZE - p))));
  positions.forEach((p, i) => {
    const n = counts[i]!;
    assert.ok(bufs[i]!.subarray(0, n).equals(data.subarray(p, p + n)), `block at ${p}`);
  });
  assert.equal(queue.stats().submitCalls - before, 1, 'the eight reads went in one io_submit');
});

test('readAt on random unaligned ranges, across EOF and of length 0, equals node:fs', async (t) => {
  const f = await fixture(t);
  if (!f) return;
  const { file, path } = f;
  const expected = fs.readFileSync(path);
  let seed = 12345;
  const random = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return Math.floor((seed / 2 ** 32) * n);
  };
  const ranges: [number, number][] = [
    [0, 0], [1, 0], [SIZE, 0], [SIZE + 5000, 0], // empty ranges, inside and past EOF
    [0, 1], [1, 1], [BLOCK - 1, 2], [511, 513], // tiny and block-crossing
    [0, SIZE], [3, SIZE], [0, SIZE + BLOCK], // the whole file and more
    [SIZE - 1, 1], [SIZE - 1, 10], [SIZE - 10, 10], [SIZE - 10, 20], // ending at and crossing EOF
    [SIZE, 1], [SIZE + 1, 100], [10 * BLOCK + 3, 7], // past EOF
  ];
  for (let i = 0; i < 300; i++) {
    const position = random(SIZE + 2 * BLOCK);
    const length = random(3) === 0 ? random(16) : random(3 * BLOCK);
    ranges.push([position, length]);
  }
  const results = await Promise.all(ranges.map(([p, n]) => file.readAt(p, n)));
  ranges.forEach(([p, n], i) => {
    const want = expected.subarray(Math.min(p, SIZE), Math.min(p + n, SIZE));
    const got = results[i]!;
    assert.ok(Buffer.isBuffer(got), 'readAt returns a Buffer');
    assert.equal(got.length, want.length, `readAt(${p}, ${n}) length`);
    assert.ok(got.equals(want), `readAt(${p}, ${n}) contents`);
  });
});

test('readAt rejects bad ranges with RangeError/TypeError', async (t) => {
  const f = await fixture(t);
  if (!f) return;
  const { file } = f;
  await assert.rejects(file.readAt(-1, 10), RangeError);
  await assert.rejects(file.readAt(1.5, 10), RangeError);
  await assert.rejects(file.readAt(0, -1), RangeError);
  await assert.rejects(file.readAt(0, 0.5), RangeError);
  await assert.rejects(file.readAt('0' as unknown as number, 10), TypeError);
  await assert.rejects(file.readAt(0, undefined as unknown as number), TypeError);
  assert.equal(file.inFlight, 0, 'refused requests leave nothing in flight');
});
