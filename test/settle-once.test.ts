/**
 * Every request settles once and every wait ends:
 * stat() holds the file open like a read; a second IoQueue.close() waits for
 * the drain like the first; waitEvents refuses a wait that could never end;
 * request options are read once; a buffer that could shrink under its
 * request is refused.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { open, allocAligned, AioError, IoContext, IoQueue, Iocb, type AioFile } from '../src/index.js';
import { attachLoop, diskDir, loopSkipReason, tempPath } from './helpers/disk.js';

const BLOCK = 4096;

function fileOf(t: TestContext, size: number, name: string): string | undefined {
  const { skip } = diskDir();
  if (skip) {
    t.skip(skip);
    return undefined;
  }
  const path = tempPath(name);
  fs.writeFileSync(path, Buffer.alloc(size, 0x33));
  t.after(() => fs.rmSync(path, { force: true }));
  return path;
}

/** Rejects if `p` has not settled within `ms`: a hang is a failure, not a stuck suite. */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
    })]);
  } finally {
    clearTimeout(timer);
  }
}

test('stat() counts as in flight: close() in the same tick waits for it', async (t) => {
  const a = fileOf(t, 3 * BLOCK, 'stat-a');
  const b = fileOf(t, 5 * BLOCK, 'stat-b');
  if (!a || !b) return;
  const file = await open(a, 'r');
  const st = file.stat();
  assert.equal(file.inFlight, 1, 'stat() holds the file');
  let statDone = false;
  void st.then(() => (statDone = true));
  await file.close();
  assert.ok(statDone, 'close() resolved after stat()');
  assert.equal((await st).size, 3 * BLOCK);
  // The race the hold prevents: another open() reusing the number while
  // fstat is on its way would make stat() describe the other file.
  for (let i = 0; i < 100; i++) {
    const f = await open(a, 'r');
    const pending = f.stat();
    void f.close();
    const other = await open(b, 'r');
    try {
      assert.equal((await pending).size, 3 * BLOCK, `try ${i}: stat() described another file`);
    } finally {
      await other.close();
    }
  }
});

test('stat() of a block device holds it open through BLKGETSIZE64', async (t) => {
  const why = loopSkipReason() ?? diskDir().skip;
  if (why) return t.skip(why);
  const loop = attachLoop(8 << 20);
  t.after(() => loop.detach());
  const dev = await open(loop.device, 'r');
  const st = dev.stat();
  assert.equal(dev.inFlight, 1);
  await dev.close();
  assert.equal((await st).size, 8 << 20);
});

test('a second IoQueue.close() resolves only after the drain, like the first', async (t) => {
  const path = fileOf(t, 16 * BLOCK, 'close-twice');
  if (!path) return;
  const queue = new IoQueue({ depth: 1 });
  const file = await open(path, 'r', { queue });
  let settled = 0;
  const reads: Promise<number>[] = [];
  for (let i = 0; i < 256; i++) {
    const p = file.read(allocAligned(BLOCK), (i % 16) * BLOCK);
    void p.then(() => settled++);
    reads.push(p);
  }
  const first = queue.close();
  const second = queue.close();
  assert.equal(second, first, 'the same drain');
  await within(second, 10000, 'the second close()');
  assert.equal(settled, 256, 'every queued read had settled when close() resolved');
  assert.equal(queue.stats().inFlight, 0);
  await Promise.all(reads);
  await file.close();
});

test('waitEvents(minNr, nr) with fewer than minNr in flight and no timeout rejects with a RangeError', async (t) => {
  const ctx = IoContext.setup(4);
  t.after(() => ctx.destroy());
  for (const timeout of [undefined, Infinity, 2 ** 40]) {
    await within(assert.rejects(ctx.waitEvents(1, 1, timeout), (err: unknown) => {
      assert.ok(err instanceof RangeError, `a RangeError, got ${String(err)}`);
      assert.match(err.message, /minNr \(1\) exceeds the requests in flight \(0\)/);
      return true;
    }), 1000, `waitEvents(1, 1, ${timeout})`);
  }
  assert.deepEqual(await ctx.waitEvents(0, 1), [], 'minNr 0 still resolves at once');
  assert.deepEqual(await ctx.waitEvents(1, 1, 10), [], 'a timeout still ends the wait');
});

test('request options are read once: a getter that changes its answer cannot pass the check', async (t) => {
  const path = fileOf(t, 4 * BLOCK, 'options-once');
  if (!path) return;
  const queue = new IoQueue({ depth: 4 });
  t.after(() => queue.close());
  for (const engine of ['aio', 'threadpool'] as const) {
    const file: AioFile = await open(path, 'r', engine === 'aio' ? { queue } : { engine });
    let flagReads = 0;
    let signalReads = 0;
    const opts = {
      get flags(): number {
        return flagReads++ === 0 ? 0 : -1;
      },
      get signal(): AbortSignal | undefined {
        return signalReads++ === 0 ? undefined : ({ aborted: true } as AbortSignal);
      },
    };
    assert.equal(await file.read(allocAligned(BLOCK), 0, opts), BLOCK, engine);
    assert.deepEqual([flagReads, signalReads], [1, 1], `${engine}: each option was read once`);
    assert.equal(file.inFlight, 0);
    await within(file.close(), 2000, `${engine}: close()`);
  }
});

test('a view of a resizable ArrayBuffer is refused (TypeError): it could shrink under its request', async (t) => {
  const path = fileOf(t, 4 * BLOCK, 'resizable');
  if (!path) return;
  const file = await open(path, 'r+', { direct: false, engine: 'aio' });
  t.after(() => file.close());
  type Resizable = ArrayBuffer & { resize(n: number): void };
  const ab = new (ArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => Resizable)(BLOCK, { maxByteLength: 4 * BLOCK });
  const view = new Uint8Array(ab);
  const fixed = new Uint8Array(ab, 0, BLOCK);
  // Its own `buffer` says fixed-length memory; the check must ask the real one.
  const disguised = new Uint8Array(ab, 0, BLOCK);
  Object.defineProperty(disguised, 'buffer', { get: () => new ArrayBuffer(BLOCK) });
  const disguisedView = new DataView(ab, 0, BLOCK);
  Object.defineProperty(disguisedView, 'buffer', { value: new ArrayBuffer(BLOCK) });
  for (const [name, p] of [
    ['read (a view whose own buffer property hides the resizable one)', () => file.read(disguised, 0)],
    ['write (a DataView the same)', () => file.write(disguisedView, 0)],
    ['read', () => file.read(view, 0)],
    ['read (fixed-length view)', () => file.read(fixed, 0)],
    ['write', () => file.write(view, 0)],
    ['readv', () => file.readv([allocAligned(BLOCK), view], 0)],
    ['writev', () => file.writev([view], 0)],
  ] as const) {
    const pending = p();
    ab.resize(0); // shrunk while the request is queued
    await assert.rejects(pending, (err: unknown) => {
      assert.ok(err instanceof TypeError, `${name}: a TypeError, got ${String(err)}`);
      assert.match(err.message, /resizable ArrayBuffer/);
      return true;
    });
    ab.resize(BLOCK);
  }
  assert.equal(file.inFlight, 0);
  assert.throws(() => new Iocb().prepPread(3, view, 0), TypeError, 'the low level refuses it too');
  assert.ok(!(await file.read(allocAligned(BLOCK), 0).catch((e: unknown) => e) instanceof AioError));
});
