/**
 * AioFile.createReadStream: exactly the bytes of [start, end] at any
 * alignment, at most `depth` reads in flight whatever the consumer does,
 * and abort, early destroy and bad options handled without leaks.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { open, createReadStream, type AioFile } from '../src/index.js';
import { randomFile } from './helpers/disk.js';

const SIZE = 300 * 1024 + 1234; // not a multiple of any alignment

async function fixture(t: TestContext): Promise<{ file: AioFile; data: Buffer } | undefined> {
  const fx = randomFile(t, SIZE, 'stream');
  if (!fx) return undefined;
  const file = await open(fx.path, 'r');
  t.after(() => file.close());
  return { file, data: fx.data };
}

async function collect(stream: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(chunk);
  return Buffer.concat(parts);
}

test('the whole file, in chunks smaller than the file, equals its contents', async (t) => {
  const f = await fixture(t);
  if (!f) return;
  const got = await collect(f.file.createReadStream({ chunkSize: 8192, depth: 3 }));
  assert.equal(got.length, SIZE);
  assert.ok(got.equals(f.data));
});

test('unaligned ranges give exactly [start, end], clipped at the end of the file', async (t) => {
  const f = await fixture(t);
  if (!f) return;
  const ranges: [number, number | undefined][] = [
    [1, 1], [100, 5000], [4095, 4097], [8191, 70000], [SIZE - 10, undefined], [SIZE - 10, SIZE + 5000], [123, SIZE - 1],
  ];
  for (const [start, end] of ranges) {
    const got = await collect(createReadStream(f.file, { start, end, chunkSize: 4096 * 3, depth: 2 }));
    const expected = f.data.subarray(start, end === undefined ? undefined : end + 1);
    assert.ok(got.equals(expected), `range ${start}..${String(end)}: ${got.length} bytes, expected ${expected.length}`);
  }
  assert.equal((await collect(f.file.createReadStream({ start: 10, end: 9 }))).length, 0, 'end before start');
  assert.equal((await collect(f.file.createReadStream({ start: SIZE + 4096 }))).length, 0, 'start past the end');
});

test('a slow consumer holds at most `depth` reads in flight', async (t) => {
  const f = await fixture(t);
  if (!f) return;
  let most = 0;
  let chunks = 0;
  for await (const chunk of f.file.createReadStream({ chunkSize: 4096, depth: 3, })) {
    assert.ok(chunk.length > 0);
    most = Math.max(most, f.file.inFlight);
    chunks++;
    if (chunks % 8 === 0) await sleep(1);
  }
  assert.ok(chunks >= Math.floor(SIZE / 4096));
  assert.ok(most >= 1 && most <= 3, `at most 3 in flight, saw ${most}`);
});

test('abort and early destroy end the stream; reads still in flight finish and close() waits for them', async (t) => {
  const f = await fixture(t);
  if (!f) return;
  const ac = new AbortController();
  const aborted = f.file.createReadStream({ chunkSize: 4096, depth: 8, signal: ac.signal });
  aborted.once('data', () => ac.abort());
  aborted.resume();
  const [err] = await once(aborted, 'error');
  assert.equal((err as Error).name, 'AbortError');

  const early = f.file.createReadStream({ chunkSize: 4096, depth: 8 });
  for await (const chunk of early) {
    assert.ok(chunk.length > 0);
    break; // destroys the stream with reads in flight
  }
  assert.ok(early.destroyed);
  await f.file.close();
  assert.equal(f.file.inFlight, 0);
});

test('bad options are refused before any read', async (t) => {
  const f = await fixture(t);
  if (!f) return;
  assert.throws(() => f.file.createReadStream({ start: -1 }), RangeError);
  assert.throws(() => f.file.createReadStream({ end: 1.5 }), RangeError);
  assert.throws(() => f.file.createReadStream({ depth: 0 }), RangeError);
  assert.throws(() => f.file.createReadStream({ chunkSize: 'big' as never }), TypeError);
  assert.throws(() => f.file.createReadStream({ signal: {} as never }), TypeError);
  assert.throws(() => f.file.createReadStream(null as never), TypeError);
  assert.equal(f.file.inFlight, 0);
});

test('read-ahead memory is bounded: depth × chunkSize over 256 MiB is refused', async (t) => {
  const f = await fixture(t);
  if (!f) return;
  assert.throws(() => f.file.createReadStream({ chunkSize: 65 << 20 }), RangeError);
  assert.throws(() => f.file.createReadStream({ chunkSize: 64 << 20, depth: 5 }), RangeError);
  const s = f.file.createReadStream({ chunkSize: 64 << 20, depth: 4, end: 9 });
  assert.equal((await collect(s)).length, 10);
});
