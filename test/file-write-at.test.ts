/**
 * writeAt(position, data) at any alignment: read-modify-write of the edge
 * blocks, many overlapping writeAts in flight checked against a model that
 * applies them in call order, the size exact after writes past the end, and
 * faults (write-only file, abort, close, bad arguments).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { randomFillSync } from 'node:crypto';
import { AioError } from '../src/index.js';
import { openScratch } from './helpers/scratch-file.js';

const ENGINES = [{ name: 'aio', direct: true }, { name: 'threadpool', direct: false }] as const;


/** Applies one write to the model, growing it with zeros as a file grows. */
function apply(model: Buffer, position: number, data: Buffer): Buffer {
  const end = position + data.length;
  const grown = end > model.length ? Buffer.concat([model, Buffer.alloc(end - model.length)]) : model;
  data.copy(grown, position);
  return grown;
}

/** A small deterministic generator, so a failure can be replayed. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

for (const { name, direct } of ENGINES) {
  test(`${name}: many concurrent overlapping writeAts land as if applied in call order, with the exact size`, async (t) => {
    const f = await openScratch(t, 'writeat', 'w+', direct);
    if (!f) return;
    const seed = 0x5eed + (direct ? 1 : 2);
    const rand = rng(seed);
    let model: Buffer = Buffer.alloc(0);
    for (let round = 0; round < 12; round++) {
      const writes: Promise<number>[] = [];
      for (let i = 0; i < 24; i++) {
        // Mostly small unaligned writes packed into a few blocks, some past the end.
        const position = Math.floor(rand() * (model.length + 3 * 4096));
        const length = rand() < 0.2 ? Math.floor(rand() * 3 * 4096) : 1 + Math.floor(rand() * 300);
        const data = randomFillSync(Buffer.alloc(length));
        model = apply(model, position, data);
        writes.push(f.file.writeAt(position, data));
      }
      const results = await Promise.all(writes);
      assert.ok(results.every((n) => n >= 0), `round ${round}`);
      const onDisk: Buffer = fs.readFileSync(f.path);
      assert.equal(onDisk.length, model.length, `seed ${seed} round ${round}: size`);
      assert.ok(onDisk.equals(model), `seed ${seed} round ${round}: contents differ from the model`);
    }
    assert.equal(f.file.inFlight, 0);
  });
}

test('writeAt inside a file keeps the bytes around it; aligned ranges from any memory; strings as UTF-8', async (t) => {
  const f = await openScratch(t, 'writeat', 'w+', true);
  if (!f) return;
  const base = randomFillSync(Buffer.alloc(5 * 4096));
  await f.file.writeFile(base);
  let model: Buffer = Buffer.from(base);
  const cases: [number, Buffer][] = [
    [0, Buffer.from('x')], [4095, Buffer.from('ab')], [4096, Buffer.alloc(4096, 9)],
    [8191, randomFillSync(Buffer.alloc(4096 * 2 + 2))], [5 * 4096 - 1, Buffer.from('end')],
  ];
  for (const [position, data] of cases) {
    // Aligned ranges come from unaligned memory here, so the copy path runs too.
    const view = Buffer.concat([Buffer.alloc(3), data]).subarray(3);
    assert.equal(await f.file.writeAt(position, view), data.length);
    model = apply(model, position, data);
  }
  assert.equal(await f.file.writeAt(10, 'héllo'), 6);
  model = apply(model, 10, Buffer.from('héllo'));
  assert.equal(await f.file.writeAt(0, new Uint8Array(0)), 0, 'an empty write writes nothing');
  assert.ok(fs.readFileSync(f.path).equals(model));
});

test('an unaligned writeAt on a write-only O_DIRECT file is an AioError with the path and a hint; aligned ones work', async (t) => {
  const f = await openScratch(t, 'writeat', 'w', true);
  if (!f) return;
  await assert.rejects(f.file.writeAt(100, Buffer.from('abc')), (e: AioError & { path?: string }) => {
    assert.ok(e instanceof AioError, String(e));
    assert.equal(e.code, 'EBADF');
    assert.equal(e.path, f.path);
    assert.match(e.hint ?? '', /'r\+' or 'w\+'/);
    return true;
  });
  assert.equal(f.file.inFlight, 0);
  assert.equal(await f.file.writeAt(4096, Buffer.alloc(4096, 1)), 4096);
  assert.equal(fs.statSync(f.path).size, 8192);
});

test('writeAt checks its arguments before the kernel; an aborted signal writes nothing; close() waits for it', async (t) => {
  const f = await openScratch(t, 'writeat', 'w+', true);
  if (!f) return;
  const call = f.file.writeAt.bind(f.file) as (...a: unknown[]) => Promise<number>;
  for (const [args, type] of [
    [[-1, 'x'], RangeError], [[1.5, 'x'], RangeError], [['0', 'x'], TypeError], [[0, 42], TypeError],
    [[0, null], TypeError], [[0, 'x', 'opts'], TypeError], [[0, 'x', { signal: {} }], TypeError],
    [[Number.MAX_SAFE_INTEGER, 'xy'], RangeError],
  ] as const) {
    await assert.rejects(call(...args), type, JSON.stringify(args));
  }
  const ac = new AbortController();
  ac.abort();
  await assert.rejects(f.file.writeAt(0, 'abc', { signal: ac.signal }), { name: 'AbortError' });
  assert.equal(fs.statSync(f.path).size, 0, 'nothing written');
  assert.equal(f.file.inFlight, 0);

  const pending = [f.file.writeAt(100, 'abc'), f.file.writeAt(5000, 'def')];
  const closing = f.file.close();
  await assert.rejects(f.file.writeAt(0, 'late'), (e: AioError) => e.code === 'EBADF');
  assert.deepEqual(await Promise.all(pending), [3, 3]);
  await closing;
  const onDisk = fs.readFileSync(f.path);
  assert.equal(onDisk.length, 5003, 'the padding was cut before close');
  assert.equal(onDisk.subarray(100, 103).toString(), 'abc');
  assert.equal(onDisk.subarray(5000).toString(), 'def');
});
