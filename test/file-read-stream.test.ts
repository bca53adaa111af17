/**
 * AioFile.createReadStream: exactly the bytes of [start, end] at any
 * alignment, at most `depth` reads in flight whatever the consumer does,
 * and abort, early destroy and bad options handled without leaks.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { open, createReadStream, IoQueue, type AioFile } from '../src/index.js';
import { randomFile } from './helpers/disk.js';

const SIZE = 300 * 1024 + 1234; // not a multiple of any alignment

async function fixture(t: TestContext): Promise<{ file: AioFile; data: Buffer } | undefined> {
  const fx = randomFile(t, SIZE, 'stream');
  if (!fx) return undefined;
  const file = await open(fx.path, 'r');
  t.after(() => file.close());
  return { file, data: fx.data };
}

/** The file opened on a queue of its own, so that the queue's counters are the stream's. */
async function fixtureOnQueue(t: TestContext, size = SIZE): Promise<{ file: AioFile; data: Buffer; queue: IoQueue } | undefined> {
  const fx = randomFile(t, size, 'stream');
  if (!fx) return undefined;
  const queue = new IoQueue({ depth: 64 });
  const file = await open(fx.path, 'r', { queue });
  t.after(async () => {
    await file.close();
    await queue.close();
  });
  return { file, data: fx.data, queue };
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

test('back-pressure: a paused stream issues no new reads, and goes on where it stopped when resumed', { timeout: 20_000 }, async (t) => {
  const f = await fixtureOnQueue(t);
  if (!f) return;
  const depth = 3;
  const chunkSize = 4096;
  const stream = f.file.createReadStream({ chunkSize, depth });
  const parts: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => {
    parts.push(chunk);
    if (parts.length === 1) stream.pause();
  });
  await once(stream, 'pause');
  await sleep(30); // everything the stream wanted to read before stopping has been read
  const held = f.queue.stats().submitted;
  await sleep(100);
  assert.equal(f.queue.stats().submitted, held, 'reads were submitted while the stream was paused');
  assert.equal(f.queue.stats().inFlight, 0);
  // Stopped early: the reads in flight, plus what fills the stream's buffer.
  const most = depth + Math.ceil(stream.readableHighWaterMark / chunkSize) + 2;
  assert.ok(held <= most, `${held} reads made for a stream paused after its first chunk (at most ${most} expected)`);
  assert.ok(held < Math.ceil(SIZE / chunkSize), 'the whole file was read ahead');
  stream.resume();
  await once(stream, 'end');
  assert.ok(Buffer.concat(parts).equals(f.data), 'resumed, the stream gives the whole file in order');
  // (Up to depth - 1 reads past the end were already in flight when the short one came back.)
  const total = f.queue.stats().submitted;
  assert.ok(total >= Math.ceil(SIZE / chunkSize) && total < Math.ceil(SIZE / chunkSize) + depth, `${total} reads in all`);
});

test('defaults: from byte 0 to the end of the file, 1 MiB reads, 4 in flight ahead of the consumer', { timeout: 20_000 }, async (t) => {
  const MiB = 1 << 20;
  const size = 6 * MiB + 1234;
  const f = await fixtureOnQueue(t, size);
  if (!f) return;
  const stream = f.file.createReadStream();
  const chunks: Buffer[] = [];
  // The first chunk alone fills the stream's buffer: the stream stops
  // pulling, so what has been submitted is the initial read-ahead.
  stream.once('readable', () => undefined);
  await once(stream, 'readable');
  await sleep(30);
  assert.equal(f.queue.stats().submitted, 4, 'the default depth is 4');
  for await (const chunk of stream) chunks.push(chunk);
  assert.deepEqual(chunks.map((c) => c.length), [MiB, MiB, MiB, MiB, MiB, MiB, 1234], 'the default chunk is 1 MiB');
  assert.ok(Buffer.concat(chunks).equals(f.data), 'from byte 0 to the end of the file');
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
