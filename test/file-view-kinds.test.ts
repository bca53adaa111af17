/**
 * Every kind of view reaches the kernel as its own bytes: the addon reads a
 * view's address and byte length through a query that takes any
 * ArrayBufferView, so a Float64Array, a DataView, a Uint16Array and a
 * Buffer at an offset into shared aligned memory must each move exactly
 * their own byteLength at their own address, and nothing next to them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { open, allocAligned } from '../src/index.js';
import { randomFile } from './helpers/disk.js';
import { KERNEL_ENGINE } from './helpers/engine.js';

const BLOCK = 4096;

/** Four views of BLOCK bytes at different offsets of one aligned backing, with a guard block between each. */
function views(backing: Buffer): ArrayBufferView[] {
  const ab = backing.buffer;
  const at = (k: number): number => backing.byteOffset + (2 * k + 1) * BLOCK;
  return [
    new Float64Array(ab, at(0), BLOCK / 8),
    new DataView(ab, at(1), BLOCK),
    new Uint16Array(ab, at(2), BLOCK / 2),
    backing.subarray(at(3) - backing.byteOffset, at(3) - backing.byteOffset + BLOCK),
  ];
}

const bytesOf = (v: ArrayBufferView): Buffer => Buffer.from(v.buffer, v.byteOffset, v.byteLength);

test('reads into each kind of view fill exactly that view, one at a time and as one batch', async (t) => {
  const fx = randomFile(t, 8 * BLOCK, 'views');
  if (!fx) return;
  const file = await open(fx.path, 'r', { engine: KERNEL_ENGINE });
  t.after(() => file.close());
  for (const batched of [false, true]) {
    const backing = allocAligned(9 * BLOCK).fill(0xee);
    const vs = views(backing);
    const reads = vs.map((v, k) => () => file.read(v, (k + 1) * BLOCK));
    const got = batched ? await Promise.all(reads.map((r) => r())) : [];
    if (!batched) for (const r of reads) got.push(await r());
    assert.deepEqual(got, [BLOCK, BLOCK, BLOCK, BLOCK]);
    vs.forEach((v, k) => assert.ok(bytesOf(v).equals(fx.data.subarray((k + 1) * BLOCK, (k + 2) * BLOCK)),
      `${v.constructor.name} (batched: ${batched}) holds its block`));
    for (let g = 0; g < 9; g += 2) {
      assert.ok(backing.subarray(g * BLOCK, (g + 1) * BLOCK).every((b) => b === 0xee), `guard block ${g} untouched`);
    }
  }
});

test('writes from each kind of view write exactly that view', async (t) => {
  const fx = randomFile(t, 8 * BLOCK, 'views-w');
  if (!fx) return;
  const file = await open(fx.path, 'r+', { engine: KERNEL_ENGINE });
  const backing = allocAligned(9 * BLOCK);
  for (let i = 0; i < backing.length; i++) backing[i] = (i * 31 + 7) & 0xff;
  const vs = views(backing);
  assert.deepEqual(await Promise.all(vs.map((v, k) => file.write(v, (k + 1) * BLOCK))), [BLOCK, BLOCK, BLOCK, BLOCK]);
  await file.close();
  const after = fs.readFileSync(fx.path);
  assert.ok(after.subarray(0, BLOCK).equals(fx.data.subarray(0, BLOCK)), 'block 0 untouched');
  vs.forEach((v, k) => assert.ok(after.subarray((k + 1) * BLOCK, (k + 2) * BLOCK).equals(bytesOf(v)), `${v.constructor.name} written at block ${k + 1}`));
  assert.ok(after.subarray(5 * BLOCK).equals(fx.data.subarray(5 * BLOCK)), 'blocks after untouched');
});
