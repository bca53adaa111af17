/**
 * The FileHandle names on AioFile: truncate, sync, datasync, readFile and
 * writeFile, on both engines, with exact bytes whatever the alignment, and
 * createReadStream's fs options (highWaterMark taken, the rest refused).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { randomFillSync } from 'node:crypto';
import { open, AioError } from '../src/index.js';
import { openScratch } from './helpers/scratch-file.js';

const ENGINES = [{ name: 'aio', direct: true }, { name: 'uring', direct: false }, { name: 'threadpool', direct: false }] as const;


for (const { name, direct } of ENGINES) {
  test(`${name}: writeFile then readFile give back exact bytes at unaligned lengths, and the size is exact`, async (t) => {
    const f = await openScratch(t, 'parity', 'w+', direct, name);
    if (!f) return;
    assert.equal(f.file.engine, name);
    for (const size of [0, 1, 511, 4096, 4097, 3 * 4096 + 5, (9 << 20) + 123]) {
      const data = randomFillSync(Buffer.alloc(size));
      // An unaligned view of the caller's memory: the helper copies it.
      const view = Buffer.concat([Buffer.alloc(1), data]).subarray(1);
      await f.file.writeFile(view);
      assert.equal(fs.statSync(f.path).size, size, `size after writeFile of ${size}`);
      assert.ok(fs.readFileSync(f.path).equals(data), `contents after writeFile of ${size}`);
      const back = await f.file.readFile();
      assert.equal(back.length, size);
      assert.ok(back.equals(data), `readFile of ${size}`);
    }
    await f.file.writeFile('héllo');
    assert.equal(fs.readFileSync(f.path, 'utf8'), 'héllo', 'a string is written as UTF-8 and a longer file cut');
    assert.equal(f.file.inFlight, 0);
  });

  test(`${name}: truncate shrinks and extends (zeros), sync and datasync resolve`, async (t) => {
    const f = await openScratch(t, 'parity', 'w+', direct, name);
    if (!f) return;
    await f.file.writeFile(Buffer.alloc(10000, 7));
    await f.file.truncate(4100);
    assert.equal(fs.statSync(f.path).size, 4100);
    await f.file.truncate(20000);
    const back = await f.file.readFile();
    assert.equal(back.length, 20000);
    assert.ok(back.subarray(0, 4100).every((b) => b === 7) && back.subarray(4100).every((b) => b === 0));
    await f.file.truncate();
    assert.equal(fs.statSync(f.path).size, 0, 'truncate() defaults to 0 as FileHandle.truncate does');
    assert.equal(await f.file.sync(), undefined);
    assert.equal(await f.file.datasync(), undefined);
  });
}

test('truncate holds the file open: close() waits for it, and calls after close reject with EBADF', async (t) => {
  const f = await openScratch(t, 'parity', 'w+', true);
  if (!f) return;
  const pending = f.file.truncate(1 << 20);
  assert.equal(f.file.inFlight, 1, 'the truncate is counted while it runs');
  const closing = f.file.close();
  await pending;
  await closing;
  assert.equal(fs.statSync(f.path).size, 1 << 20);
  for (const call of [() => f.file.truncate(0), () => f.file.readFile(), () => f.file.writeFile('x'), () => f.file.sync()]) {
    await assert.rejects(call(), (e: AioError) => e instanceof AioError && e.code === 'EBADF');
  }
});

test('bad arguments are TypeError/RangeError before the kernel, and nothing stays counted', async (t) => {
  const f = await openScratch(t, 'parity', 'w+', true);
  if (!f) return;
  const file = f.file as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
  const cases: [string, () => Promise<unknown>, typeof TypeError | typeof RangeError][] = [
    ['truncate(-1)', () => file.truncate!(-1), RangeError],
    ['truncate(1.5)', () => file.truncate!(1.5), RangeError],
    ["truncate('1')", () => file.truncate!('1'), TypeError],
    ['writeFile(undefined)', () => file.writeFile!(undefined), TypeError],
    ['writeFile(42)', () => file.writeFile!(42), TypeError],
    ['writeFile({})', () => file.writeFile!({}), TypeError],
  ];
  for (const [label, call, type] of cases) {
    await assert.rejects(call(), type, label);
  }
  assert.equal(f.file.inFlight, 0);
  assert.equal(fs.statSync(f.path).size, 0, 'nothing reached the file');
});

test('what the kernel refuses is an AioError with the path and a hint', async (t) => {
  const f = await openScratch(t, 'parity', 'w+', true);
  if (!f) return;
  fs.writeFileSync(f.path, 'abc');
  const ro = await open(f.path, 'r');
  t.after(() => ro.close());
  await assert.rejects(ro.truncate(0), (e: AioError & { path?: string }) => {
    assert.ok(e instanceof AioError);
    assert.equal(e.syscall, 'ftruncate');
    assert.equal(e.path, f.path);
    assert.match(e.hint ?? '', /opened for writing/);
    return true;
  });
  await assert.rejects(ro.writeFile('xyz'), AioError);
  assert.equal(ro.inFlight, 0, 'no request left counted after a refusal');
  assert.equal(fs.readFileSync(f.path, 'utf8'), 'abc');
});

test('createReadStream takes highWaterMark as the chunk size and refuses options it does not honour', async (t) => {
  const f = await openScratch(t, 'parity', 'w+', true);
  if (!f) return;
  const data = randomFillSync(Buffer.alloc(5 * 4096 + 17));
  await f.file.writeFile(data);
  const sizes: number[] = [];
  for await (const chunk of f.file.createReadStream({ highWaterMark: 8192 })) sizes.push((chunk as Buffer).length);
  assert.deepEqual(sizes, [8192, 8192, 4096 + 17]);
  for (const [opts, pattern] of [
    [{ encoding: 'utf8' }, /encoding.*TextDecoder/],
    [{ fd: 3 }, /'fd'/],
    [{ flags: 'r' }, /'flags'/],
    [{ autoClose: false }, /'autoClose'/],
    [{ bogus: 1 }, /'bogus'.*the options are/],
    [{ chunkSize: 4096, highWaterMark: 4096 }, /not both/],
    [{ highWaterMark: 0 }, /highWaterMark/],
  ] as const) {
    assert.throws(() => f.file.createReadStream(opts as object), (e: Error) => e instanceof TypeError || e instanceof RangeError ? pattern.test(e.message) : false, JSON.stringify(opts));
  }
  // An option given as undefined is no option at all.
  const none = f.file.createReadStream({ encoding: undefined } as object);
  let total = 0;
  for await (const chunk of none) total += (chunk as Buffer).length;
  assert.equal(total, data.length);
});
