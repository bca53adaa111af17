/**
 * The thread-pool backend: buffered files go to Node's fs on
 * libuv's threads, never to Linux AIO (which would run them synchronously
 * inside io_submit); it can also be chosen for O_DIRECT files; per-request
 * RWF flags, which it cannot pass, are refused.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { open, allocAligned, AioError, IoQueue, RWF } from '../src/index.js';
import { randomFile } from './helpers/disk.js';
import { KERNEL_ENGINE } from './helpers/engine.js';

const SIZE = 64 * 1024 + 123;

/** A file of SIZE random bytes; removed after the test. */
function fixture(t: TestContext): { path: string; data: Buffer } | undefined {
  const fx = randomFile(t, SIZE, 'threadpool');
  if (!fx) return undefined;
  const { path, data } = fx;
  return { path, data };
}

/**
 * A Linux AIO queue that must stay unused: proof that no request went to
 * it. Named, not left to LINUX_AIO_ENGINE: 'auto' would give buffered files
 * to an io_uring queue.
 */
function watchQueue(t: TestContext): IoQueue {
  const queue = new IoQueue({ depth: 8, engine: 'aio' });
  t.after(() => queue.close());
  return queue;
}

test('a buffered file (direct: false) goes to the thread pool, with no alignment', async (t) => {
  const f = fixture(t);
  if (!f) return;
  const queue = watchQueue(t);
  const file = await open(f.path, 'r+', { direct: false, queue });
  t.after(() => file.close());
  assert.equal(file.engine, 'threadpool');
  assert.equal(file.direct, false);
  assert.deepEqual({ ...file.alignment }, { memory: 1, offset: 1 });
  const flags = fs.readFileSync(`/proc/self/fdinfo/${file.fd}`, 'utf8').match(/flags:\s+(\d+)/)![1]!;
  assert.equal(parseInt(flags, 8) & fs.constants.O_DIRECT, 0, 'the fd has no O_DIRECT');

  // An unaligned Buffer (odd address, odd length) at an odd position.
  const backing = Buffer.alloc(1000);
  const buf = backing.subarray(3, 3 + 777);
  assert.equal(await file.read(buf, 4097), 777);
  assert.ok(buf.equals(f.data.subarray(4097, 4097 + 777)));

  // Other views work too: a Uint16Array and a DataView over part of an ArrayBuffer.
  const u16 = new Uint16Array(50);
  assert.equal(await file.read(u16, 1), 100);
  assert.ok(Buffer.from(u16.buffer).equals(f.data.subarray(1, 101)));
  const dv = new DataView(new ArrayBuffer(64), 5, 33);
  assert.equal(await file.read(dv, 99), 33);
  assert.ok(Buffer.from(dv.buffer, 5, 33).equals(f.data.subarray(99, 132)));

  // Short read at EOF, and 0 past it.
  assert.equal(await file.read(Buffer.alloc(500), SIZE - 100), 100);
  assert.equal(await file.read(Buffer.alloc(500), SIZE + 1), 0);

  // Writes, vectored I/O, syncs and readAt.
  const w = Buffer.from('hello, thread pool');
  assert.equal(await file.write(w, 12345), w.length);
  assert.equal(await file.writev([Buffer.from('ab'), Buffer.from('cde')], 3), 5);
  const parts = [Buffer.alloc(2), Buffer.alloc(3)];
  assert.equal(await file.readv(parts, 3), 5);
  assert.equal(Buffer.concat(parts).toString(), 'abcde');
  await file.fsync();
  await file.fdatasync();
  assert.equal((await file.readAt(12345, w.length)).toString(), w.toString());
  const onDisk = fs.readFileSync(f.path);
  assert.equal(onDisk.subarray(12345, 12345 + w.length).toString(), w.toString());
  assert.equal(onDisk.subarray(3, 8).toString(), 'abcde');

  const s = queue.stats();
  assert.equal(s.submitted + s.submitCalls + s.queued, 0, 'nothing went through Linux AIO');
});

test('many concurrent thread-pool reads all return their own bytes', async (t) => {
  const f = fixture(t);
  if (!f) return;
  const file = await open(f.path, 'r', { direct: false });
  t.after(() => file.close());
  const ranges = Array.from({ length: 200 }, (_, i) => [(i * 331) % SIZE, 1 + ((i * 97) % 3000)] as const);
  const results = await Promise.all(ranges.map(async ([p, n]) => {
    const buf = Buffer.alloc(n);
    const got = await file.read(buf, p);
    return buf.subarray(0, got);
  }));
  ranges.forEach(([p, n], i) => assert.ok(results[i]!.equals(f.data.subarray(p, Math.min(p + n, SIZE))), `read ${i}`));
  assert.equal(file.inFlight, 0);
});

test('engine: "threadpool" can be forced on an O_DIRECT file; alignment still applies', async (t) => {
  const f = fixture(t);
  if (!f) return;
  const queue = watchQueue(t);
  const file = await open(f.path, 'r+', { engine: 'threadpool', queue });
  t.after(() => file.close());
  assert.equal(file.engine, 'threadpool');
  assert.equal(file.direct, true);
  assert.ok(file.alignment.offset > 1, `O_DIRECT alignment (${file.alignment.offset})`);
  const flags = fs.readFileSync(`/proc/self/fdinfo/${file.fd}`, 'utf8').match(/flags:\s+(\d+)/)![1]!;
  assert.notEqual(parseInt(flags, 8) & fs.constants.O_DIRECT, 0, 'the fd has O_DIRECT');

  const buf = allocAligned(8192, file.alignment.memory);
  assert.equal(await file.read(buf, 4096), 8192);
  assert.ok(buf.equals(f.data.subarray(4096, 4096 + 8192)));
  buf.fill(0x42);
  assert.equal(await file.write(buf.subarray(0, 4096), 8192), 4096);
  await file.fsync();
  assert.ok(fs.readFileSync(f.path).subarray(8192, 12288).every((b) => b === 0x42));
  assert.equal((await file.readAt(3, 10)).length, 10, 'readAt works through the thread pool');
  await assert.rejects(file.read(Buffer.alloc(100), 0), (err: unknown) => {
    assert.ok(err instanceof AioError);
    assert.equal(err.code, 'EINVAL', 'a misaligned request is refused before reaching the pool');
    return true;
  });
  const s = queue.stats();
  assert.equal(s.submitted + s.submitCalls, 0, 'nothing went through Linux AIO');
});

test('engine: "aio" goes through the given queue; bad engine names are refused', async (t) => {
  const f = fixture(t);
  if (!f) return;
  const queue = watchQueue(t);
  const file = await open(f.path, 'r', { engine: 'aio', queue });
  t.after(() => file.close());
  assert.equal(file.engine, 'aio');
  assert.equal(await file.read(allocAligned(4096, file.alignment.memory), 0), 4096);
  assert.equal(queue.stats().submitted, 1);
  await assert.rejects(open(f.path, 'r', { engine: 'io_uring' as never }), TypeError);
});

test('per-request flags on the thread pool reject with AioError EOPNOTSUPP, before any I/O', async (t) => {
  const f = fixture(t);
  if (!f) return;
  const file = await open(f.path, 'r+', { direct: false, engine: 'threadpool' });
  t.after(() => file.close());
  const buf = Buffer.alloc(16, 0x99);
  for (const [name, p] of [
    ['read', file.read(buf, 0, { flags: RWF.NOWAIT })],
    ['write', file.write(buf, 0, { flags: RWF.DSYNC })],
    ['readv', file.readv([buf], 0, { flags: RWF.HIPRI })],
    ['writev', file.writev([buf], 0, { flags: RWF.SYNC })],
  ] as const) {
    await assert.rejects(p, (err: unknown) => {
      assert.ok(err instanceof AioError, `${name}: AioError`);
      // Errno 95: linux-aio names it EOPNOTSUPP, as Linux does (libuv says ENOTSUP).
      assert.equal(err.errno, -95, `${name}: errno`);
      assert.equal(err.code, 'EOPNOTSUPP', `${name}: code`);
      assert.match(err.hint ?? '', /aio/, `${name}: the hint names the engine that can`);
      return true;
    });
  }
  assert.equal(file.inFlight, 0);
  assert.ok(!fs.readFileSync(f.path).subarray(0, 16).equals(buf), 'the refused writes wrote nothing');
  assert.equal(await file.read(buf, 0, { flags: 0 }), 16, 'flags: 0 is no flag at all');
});

test('thread-pool errors are AioErrors with the fs call named', async (t) => {
  const f = fixture(t);
  if (!f) return;
  const file = await open(f.path, 'r', { direct: false, engine: 'threadpool' });
  t.after(() => file.close());
  await assert.rejects(file.write(Buffer.from('x'), 0), (err: unknown) => {
    assert.ok(err instanceof AioError);
    assert.equal(err.code, 'EBADF', 'writing a read-only fd');
    assert.equal(err.errno, -9);
    assert.equal(err.syscall, 'write');
    return true;
  });
  assert.equal(file.inFlight, 0);
});

test('O_DIRECT among numeric flags wins over direct: false, so alignment is still checked', async (t) => {
  const fx = fixture(t);
  if (!fx) return;
  const file = await open(fx.path, fs.constants.O_RDONLY | fs.constants.O_DIRECT, { direct: false });
  t.after(() => file.close());
  assert.equal(file.direct, true);
  assert.equal(file.engine, KERNEL_ENGINE);
  assert.ok(file.alignment.offset > 1, `alignment ${JSON.stringify(file.alignment)}`);
  await assert.rejects(file.read(Buffer.alloc(100), 0), (err: unknown) => err instanceof AioError && err.code === 'EINVAL');
  assert.equal(await file.read(allocAligned(4096), 0), 4096);
});
