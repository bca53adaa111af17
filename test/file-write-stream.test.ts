/**
 * createWriteStream: exact bytes at any start and length, write-behind
 * bounded by depth, pipeline from createReadStream byte for byte, finish
 * after fdatasync, abort and write failures saying how many bytes landed,
 * and bad options refused before anything is written.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { once } from 'node:events';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { randomFillSync } from 'node:crypto';
import { open, createWriteStream, BufferPool, AioError, type AioFile } from '../src/index.js';
import { scratchPath } from './helpers/disk.js';

const ENGINES = [{ name: 'aio', direct: true }, { name: 'threadpool', direct: false }] as const;

async function opened(t: TestContext, p: string, flags: string, direct = true): Promise<AioFile> {
  const file = await open(p, flags, { direct });
  t.after(() => file.close());
  return file;
}

for (const { name, direct } of ENGINES) {
  test(`${name}: pipeline(createReadStream, createWriteStream) copies byte for byte with at most depth writes in flight`, async (t) => {
    const a = scratchPath(t, 'ws-src');
    const b = scratchPath(t, 'ws-dst');
    if (!a || !b) return;
    const data = randomFillSync(Buffer.alloc(3 * 1024 * 1024 + 1234));
    fs.writeFileSync(a, data);
    const src = await opened(t, a, 'r', direct);
    const dst = await opened(t, b, 'w+', direct);
    const pool = new BufferPool(256 * 1024, { alignment: 4096 });
    const out = dst.createWriteStream({ chunkSize: 256 * 1024, depth: 3, pool });
    // Count the stream's writes in flight where they start and settle.
    let now = 0;
    let most = 0;
    const write = dst.write.bind(dst);
    dst.write = (buf, position, opts) => {
      most = Math.max(most, ++now);
      return write(buf, position, opts).finally(() => now--);
    };
    await pipeline(src.createReadStream({ chunkSize: 128 * 1024 }), out);
    assert.ok(fs.readFileSync(b).equals(data), 'the copy differs');
    assert.equal(fs.statSync(b).size, data.length);
    assert.equal(out.bytesWritten, data.length);
    assert.ok(most >= 2 && most <= 3, `up to 3 writes in flight, saw ${most}`);
    assert.ok(pool.created <= 4, `memory bounded by depth + 1 chunk buffers, made ${pool.created}`);
    assert.equal(dst.inFlight, 0);
  });
}

test('a path target is created with exact bytes and closed; finish comes after fdatasync unless flush is false', async (t) => {
  const p = scratchPath(t, 'ws-path');
  if (!p) return;
  const data = randomFillSync(Buffer.alloc(70001));
  const out = createWriteStream(p, { chunkSize: 8192 });
  let syncs = 0;
  out.once('ready', () => {
    const file = out.file!;
    const datasync = file.datasync.bind(file);
    file.datasync = () => (syncs++, datasync());
  });
  await pipeline(Readable.from([data.subarray(0, 5), data.subarray(5, 40000), data.subarray(40000)]), out);
  assert.equal(syncs, 1, 'one fdatasync before finish');
  assert.ok(fs.readFileSync(p).equals(data));
  await assert.rejects(out.file!.stat(), (e: AioError) => e.code === 'EBADF', 'the stream closed the file it opened');

  const quiet = createWriteStream(p, { flush: false });
  let quietSyncs = 0;
  quiet.once('ready', () => {
    const file = quiet.file!;
    const datasync = file.datasync.bind(file);
    file.datasync = () => (quietSyncs++, datasync());
  });
  quiet.end('short');
  await once(quiet, 'finish');
  assert.equal(quietSyncs, 0, 'flush: false skips the fdatasync');
  assert.equal(fs.readFileSync(p, 'utf8'), 'short');
});

test('an unaligned start inside a file keeps the bytes around it; past the end the size is exact', async (t) => {
  const p = scratchPath(t, 'ws-middle');
  if (!p) return;
  const base = randomFillSync(Buffer.alloc(40000));
  fs.writeFileSync(p, base);
  const file = await opened(t, p, 'r+');
  const cases: [number, number][] = [[3000, 5000], [100, 10], [4096, 8192], [39990, 100], [50001, 9000]];
  let model = Buffer.from(base);
  for (const [start, length] of cases) {
    const data = randomFillSync(Buffer.alloc(length));
    const out = file.createWriteStream({ start, chunkSize: 4096, depth: 2 });
    await pipeline(Readable.from([data.subarray(0, 7), data.subarray(7)]), out);
    const end = start + length;
    if (end > model.length) model = Buffer.concat([model, Buffer.alloc(end - model.length)]);
    data.copy(model, start);
    assert.equal(out.bytesWritten, length);
    assert.ok(fs.readFileSync(p).equals(model), `start ${start} length ${length}`);
  }
});

test('abort: the writes in flight complete, nothing after them, and the error says how many bytes landed', async (t) => {
  const p = scratchPath(t, 'ws-abort');
  if (!p) return;
  const file = await opened(t, p, 'w+');
  const ac = new AbortController();
  const out = file.createWriteStream({ chunkSize: 64 * 1024, depth: 4, signal: ac.signal });
  const chunk = randomFillSync(Buffer.alloc(64 * 1024));
  // Twenty chunks buffered at once, the abort once the second is handed to
  // the kernel: the writes in flight land, what the Writable still buffers
  // must never reach the file.
  for (let i = 0; i < 20; i++) out.write(chunk, i === 1 ? () => ac.abort() : undefined);
  const [err] = (await once(out, 'error')) as [Error & { bytesWritten?: number }];
  assert.equal(err.name, 'AbortError');
  assert.match(err.message, /(\d+) bytes had landed/);
  assert.equal(err.bytesWritten, out.bytesWritten);
  assert.equal(file.inFlight, 0, 'the writes in flight completed before the error');
  assert.ok(out.bytesWritten >= 2 * chunk.length, `the writes in flight landed (${out.bytesWritten})`);
  assert.ok(out.bytesWritten < 20 * chunk.length, `the buffered bytes were not written (${out.bytesWritten} landed)`);
  assert.equal(out.bytesWritten % chunk.length, 0, 'whole chunks only: nothing partial after the abort');
  assert.equal(fs.statSync(p).size, out.bytesWritten, 'nothing was written after the writes in flight');
  const onDisk = fs.readFileSync(p);
  for (let i = 0; i < onDisk.length; i += chunk.length) assert.ok(onDisk.subarray(i, i + chunk.length).equals(chunk));

  const pre = AbortSignal.abort();
  const never = file.createWriteStream({ signal: pre });
  const [early] = (await once(never, 'error')) as [Error & { bytesWritten?: number }];
  assert.equal(early.name, 'AbortError');
  assert.equal(early.bytesWritten, 0);
});

test('an abort after end(), while the last chunk is in flight: the tail is not written, and the file holds bytesWritten bytes', async (t) => {
  const p = scratchPath(t, 'ws-abort-end');
  if (!p) return;
  const file = await opened(t, p, 'w+');
  const a = file.alignment.offset;
  const chunk = 4 * a;
  const ac = new AbortController();
  // The third chunk's completion is held back a little and brings the abort,
  // so that the abort meets the stream in _final, waiting for that write.
  const write = file.write.bind(file);
  let calls = 0;
  file.write = (buf, position, opts) => {
    const done = write(buf, position, opts);
    if (++calls !== 3) return done;
    return done.then((n) => new Promise((resolve) => setTimeout(() => {
      ac.abort();
      resolve(n);
    }, 20)));
  };
  const out = file.createWriteStream({ chunkSize: chunk, depth: 2, signal: ac.signal });
  const data = randomFillSync(Buffer.alloc(3 * chunk + a)); // the tail: one whole block
  let error: (Error & { bytesWritten?: number }) | undefined;
  out.on('error', (err) => (error = err));
  const closed = new Promise((resolve) => out.once('close', resolve));
  out.end(data);
  await closed;
  assert.equal(error?.name, 'AbortError');
  assert.equal(error?.bytesWritten, out.bytesWritten);
  assert.equal(out.bytesWritten, 3 * chunk, 'the chunks in flight landed');
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(file.inFlight, 0);
  assert.equal(calls, 3, 'the tail was never written');
  assert.equal(fs.statSync(p).size, 3 * chunk, 'nothing was written after the writes in flight');
  assert.ok(fs.readFileSync(p).equals(data.subarray(0, 3 * chunk)));
});

test('a write the kernel refuses fails the stream with an AioError that says how many bytes landed', async (t) => {
  const p = scratchPath(t, 'ws-refused');
  if (!p) return;
  fs.writeFileSync(p, '');
  const ro = await opened(t, p, 'r');
  const out = ro.createWriteStream({ chunkSize: 4096 });
  out.write(Buffer.alloc(8192, 1));
  const [err] = (await once(out, 'error')) as [AioError & { bytesWritten?: number }];
  assert.ok(err instanceof AioError, String(err));
  assert.equal(err.code, 'EBADF');
  assert.match(err.message, /0 bytes had landed/);
  assert.equal(err.bytesWritten, 0);
  assert.equal(ro.inFlight, 0);
  assert.equal(fs.statSync(p).size, 0);
});

test('bad options are refused before anything is written', async (t) => {
  const p = scratchPath(t, 'ws-bad');
  if (!p) return;
  const file = await opened(t, p, 'w+');
  const make = createWriteStream as (...a: unknown[]) => unknown;
  for (const [args, type, pattern] of [
    [[file, { start: -1 }], RangeError, /start/],
    [[file, { chunkSize: 0 }], RangeError, /chunkSize/],
    [[file, { depth: 0 }], RangeError, /depth/],
    [[file, { depth: 1024, chunkSize: 1 << 20 }], RangeError, /256 MiB/],
    [[file, { flush: 'yes' }], TypeError, /flush/],
    [[file, { signal: {} }], TypeError, /signal/],
    [[file, { pool: {} }], TypeError, /pool/],
    [[file, { pool: new BufferPool(1000) }], TypeError, /pool's buffers/],
    [[file, { encoding: 'latin1' }], TypeError, /'encoding'.*UTF-8/],
    [[file, { flags: 'w' }], TypeError, /flags applies to a path/],
    [[file, { bogus: true }], TypeError, /'bogus'/],
    [[file, null], TypeError, /options/],
    [[42], TypeError, /target/],
    [[''], TypeError, /target/],
  ] as const) {
    assert.throws(() => make(...args), (e: Error) => e instanceof type && pattern.test(e.message), JSON.stringify(args.slice(1)));
  }
  assert.equal(file.inFlight, 0);
  assert.equal(fs.statSync(p).size, 0);
});
