/**
 * Closing an AioFile: close() waits for the requests in flight
 * (and those still queued) and then closes the descriptor; every use after it
 * rejects with AioError EBADF; closing twice is harmless; `await using`
 * closes at the end of the block.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { randomFillSync } from 'node:crypto';
import { open, allocAligned, AioError, IoQueue, type AioFile, type OpenOptions } from '../src/index.js';
import { randomFile } from './helpers/disk.js';

const BLOCK = 4096;
const BLOCKS = 256;

function fixture(t: TestContext): { path: string; data: Buffer } | undefined {
  const fx = randomFile(t, BLOCKS * BLOCK, 'close');
  if (!fx) return undefined;
  const { path, data } = fx;
  return { path, data };
}

/** True when `fd` no longer refers to `path` in this process (closed, or reused for something else). */
function fdIsClosed(fd: number, path: string): boolean {
  let target: string;
  try {
    target = fs.readlinkSync(`/proc/self/fd/${fd}`);
  } catch (err) {
    assert.equal((err as NodeJS.ErrnoException).code, 'ENOENT');
    assert.throws(() => fs.fstatSync(fd), { code: 'EBADF' });
    return true;
  }
  return target !== fs.realpathSync(path);
}

async function closeWithReadsInFlight(t: TestContext, options: OpenOptions): Promise<void> {
  const f = fixture(t);
  if (!f) return;
  const file = await open(f.path, 'r', options);
  const events: string[] = [];
  const reads: Promise<void>[] = [];
  for (let i = 0; i < 64; i++) {
    const block = (i * 37) % BLOCKS;
    const buf = allocAligned(BLOCK, file.alignment.memory);
    reads.push(file.read(buf, block * BLOCK).then((n) => {
      assert.equal(n, BLOCK);
      assert.ok(buf.equals(f.data.subarray(block * BLOCK, (block + 1) * BLOCK)), `read ${i} has block ${block}`);
      assert.doesNotThrow(() => fs.fstatSync(file.fd), 'the fd is open while a read completes');
      events.push(`read ${i}`);
    }));
  }
  assert.equal(file.inFlight, 64);
  const closing = file.close().then(() => events.push('close'));
  // Requests made while closing are refused at once.
  await assert.rejects(file.read(allocAligned(BLOCK, file.alignment.memory), 0), { name: 'AioError', code: 'EBADF' });
  await Promise.all([...reads, closing]);
  assert.equal(events.length, 65);
  assert.equal(events[64], 'close', 'close resolves after every read');
  assert.equal(file.inFlight, 0);
  assert.ok(fdIsClosed(file.fd, f.path), `fd ${file.fd} is closed`);
}

test('close with 64 reads in flight (aio): the reads finish with their data, then the fd closes', { timeout: 10_000 }, async (t) => {
  const queue = new IoQueue({ depth: 128 });
  t.after(() => queue.close());
  await closeWithReadsInFlight(t, { queue });
});

test('close with reads still queued behind the depth limit waits for them too', { timeout: 10_000 }, async (t) => {
  const queue = new IoQueue({ depth: 4 });
  t.after(() => queue.close());
  await closeWithReadsInFlight(t, { queue });
});

test('close with 64 reads in flight on the thread pool', { timeout: 10_000 }, async (t) => {
  await closeWithReadsInFlight(t, { direct: false });
});

test('close with writes in flight: every write lands before the fd closes', { timeout: 10_000 }, async (t) => {
  const f = fixture(t);
  if (!f) return;
  const file = await open(f.path, 'r+');
  const expected = Buffer.from(f.data);
  const writes: Promise<number>[] = [];
  for (let i = 0; i < 32; i++) {
    const buf = allocAligned(BLOCK, file.alignment.memory);
    randomFillSync(buf);
    buf.copy(expected, i * 2 * BLOCK);
    writes.push(file.write(buf, i * 2 * BLOCK));
  }
  await file.close();
  assert.equal(file.inFlight, 0);
  assert.deepEqual(await Promise.all(writes), new Array(32).fill(BLOCK), 'writes had all resolved by then');
  assert.ok(fs.readFileSync(f.path).equals(expected), 'the file has every write');
});

test('every use after close rejects with AioError EBADF', { timeout: 10_000 }, async (t) => {
  const f = fixture(t);
  if (!f) return;
  for (const options of [{}, { direct: false }] as OpenOptions[]) {
    const file = await open(f.path, 'r+', options);
    await file.close();
    const buf = allocAligned(BLOCK, file.alignment.memory);
    const uses: [string, () => Promise<unknown>][] = [
      ['read', () => file.read(buf, 0)],
      ['write', () => file.write(buf, 0)],
      ['readv', () => file.readv([buf], 0)],
      ['writev', () => file.writev([buf], 0)],
      ['fsync', () => file.fsync()],
      ['fdatasync', () => file.fdatasync()],
      ['stat', () => file.stat()],
      ['allocate', () => file.allocate(0, BLOCK)],
      ['readAt', () => file.readAt(1, 10)],
      ['readAt (empty range)', () => file.readAt(0, 0)],
    ];
    for (const [name, use] of uses) {
      await assert.rejects(use(), (err: unknown) => {
        assert.ok(err instanceof AioError, `${name} (${file.engine}): AioError`);
        assert.equal(err.code, 'EBADF', `${name}: code`);
        assert.equal(err.errno, -9, `${name}: errno`);
        assert.match(err.hint ?? '', /closed/, `${name}: the hint says the file is closed`);
        return true;
      });
    }
    assert.equal(file.inFlight, 0, 'refused requests are not counted');
  }
  const original = fs.readFileSync(f.path);
  assert.ok(original.equals(f.data), 'nothing was written');
});

test('close twice (at once, and after it finished) is fine', { timeout: 10_000 }, async (t) => {
  const f = fixture(t);
  if (!f) return;
  const file = await open(f.path, 'r');
  const read = file.read(allocAligned(BLOCK, file.alignment.memory), 0);
  const first = file.close();
  const second = file.close();
  await Promise.all([first, second, read]);
  await file.close();
  await file[Symbol.asyncDispose]();
  assert.ok(fdIsClosed(file.fd, f.path));
});

test('await using closes the file at the end of the block, after its I/O', { timeout: 10_000 }, async (t) => {
  const f = fixture(t);
  if (!f) return;
  let fd = -1;
  let pending: Promise<number> | undefined;
  let escaped: AioFile | undefined;
  {
    await using file = await open(f.path, 'r');
    fd = file.fd;
    escaped = file;
    assert.equal(typeof file[Symbol.asyncDispose], 'function');
    // Left in flight when the block ends: disposal must wait for it.
    pending = file.read(allocAligned(BLOCK, file.alignment.memory), BLOCK);
    assert.doesNotThrow(() => fs.fstatSync(fd));
  }
  assert.equal(escaped.inFlight, 0, 'disposal waited for the read');
  assert.equal(await pending, BLOCK);
  assert.ok(fdIsClosed(fd, f.path), 'the fd is closed after the block');
  await assert.rejects(escaped.read(allocAligned(BLOCK), 0), { name: 'AioError', code: 'EBADF' });
});

test('await using closes the file when the block throws', { timeout: 10_000 }, async (t) => {
  const f = fixture(t);
  if (!f) return;
  let fd = -1;
  await assert.rejects(async () => {
    await using file = await open(f.path, 'r');
    fd = file.fd;
    throw new Error('boom');
  }, /boom/);
  assert.ok(fd >= 0);
  assert.ok(fdIsClosed(fd, f.path), 'the fd is closed after the throw');
});

test('a file whose IoQueue was closed rejects its requests with AioError EBADF', { timeout: 10_000 }, async (t) => {
  const f = fixture(t);
  if (!f) return;
  const queue = new IoQueue({ depth: 8 });
  const file = await open(f.path, 'r', { queue });
  t.after(() => file.close());
  const inFlight = file.read(allocAligned(BLOCK, file.alignment.memory), 0);
  const closing = queue.close();
  assert.equal(await inFlight, BLOCK, 'a request made before the queue closed completes');
  await closing;
  await assert.rejects(file.read(allocAligned(BLOCK, file.alignment.memory), 0), (err: unknown) => {
    assert.ok(err instanceof AioError);
    assert.equal(err.code, 'EBADF');
    assert.match(err.hint ?? '', /IoQueue is closed/);
    return true;
  });
  assert.equal(file.inFlight, 0, 'the refused request is not counted');
});
