/**
 * The io_uring engine behind AioFile: what 'auto' and LINUX_AIO_ENGINE pick,
 * every operation through `engine: 'uring'`, fallocate as a ring request,
 * per-request RWF flags, abort as a kernel cancel, and one ring shared by
 * the files of a thread.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { AioError, IoQueue, RWF, allocAligned, open } from '../src/index.js';
import { ENGINE_ENV, autoEngine, uringAvailability } from '../src/engine/select.js';
import { randomFile } from './helpers/disk.js';

const uring = uringAvailability();
const skip = uring.usable ? undefined : `io_uring is not usable here: ${uring.reason}`;

function withEnv(t: TestContext, value: string | undefined): void {
  const before = process.env[ENGINE_ENV];
  if (value === undefined) delete process.env[ENGINE_ENV];
  else process.env[ENGINE_ENV] = value;
  t.after(() => {
    if (before === undefined) delete process.env[ENGINE_ENV];
    else process.env[ENGINE_ENV] = before;
  });
}

test("uring: 'auto' sends buffered files to io_uring and O_DIRECT files to Linux AIO", { skip }, async (t) => {
  withEnv(t, undefined);
  const f = randomFile(t, 64 * 1024, 'uring-auto');
  if (!f) return;
  const buffered = await open(f.path, 'r', { direct: false });
  t.after(() => buffered.close());
  assert.equal(buffered.engine, 'uring');
  assert.equal(autoEngine(false).engine, 'uring');
  assert.match(autoEngine(false).reason, /buffered/);
  const direct = await open(f.path, 'r');
  t.after(() => direct.close());
  assert.equal(direct.engine, 'aio');
  const buf = Buffer.alloc(5000);
  assert.equal(await buffered.read(buf, 100), 5000);
  assert.ok(buf.equals(f.data.subarray(100, 5100)), 'unaligned buffered read through io_uring');
});

test('uring: LINUX_AIO_ENGINE stands in for a missing engine option; a bad value is a TypeError', { skip }, async (t) => {
  const f = randomFile(t, 16 * 1024, 'uring-env');
  if (!f) return;
  withEnv(t, 'uring');
  const a = await open(f.path, 'r');
  t.after(() => a.close());
  assert.equal(a.engine, 'uring', 'an O_DIRECT file on io_uring when asked');
  const b = await open(f.path, 'r', { direct: false, engine: 'threadpool' });
  t.after(() => b.close());
  assert.equal(b.engine, 'threadpool', 'an explicit engine wins');
  process.env[ENGINE_ENV] = 'threadpool';
  const c = await open(f.path, 'r', { direct: false });
  t.after(() => c.close());
  assert.equal(c.engine, 'threadpool');
  process.env[ENGINE_ENV] = 'iouring';
  await assert.rejects(open(f.path, 'r'), (err: unknown) => err instanceof TypeError && /LINUX_AIO_ENGINE/.test(err.message));
});

test("uring: every operation through engine 'uring', O_DIRECT and buffered, batched on one ring", { skip }, async (t) => {
  const f = randomFile(t, 256 * 1024, 'uring-ops');
  if (!f) return;
  const queue = new IoQueue({ engine: 'uring', depth: 32 });
  t.after(() => queue.close());
  assert.equal(queue.engine, 'uring');
  for (const direct of [true, false]) {
    const file = await open(f.path, 'r+', { engine: 'uring', direct, queue });
    assert.equal(file.engine, 'uring');
    const a = file.alignment.memory;
    const before = queue.stats();
    const bufs = Array.from({ length: 16 }, () => allocAligned(4096, a));
    const reads = await Promise.all(bufs.map((b, i) => file.read(b, i * 4096)));
    assert.deepEqual(reads, bufs.map(() => 4096));
    bufs.forEach((b, i) => assert.ok(b.equals(f.data.subarray(i * 4096, (i + 1) * 4096)), `read ${i}`));
    const s = queue.stats();
    assert.equal(s.submitted - before.submitted, 16);
    assert.equal(s.submitCalls - before.submitCalls, 1, 'the 16 reads of one tick went in one io_uring_enter');
    // Writes beyond the 64 KiB read above, at different places per pass.
    const at = direct ? 131072 : 196608;
    const w = allocAligned(8192, a).fill(direct ? 0xd1 : 0xb1);
    assert.equal(await file.write(w, at), 8192);
    const v = [allocAligned(4096, a), allocAligned(4096, a)];
    assert.equal(await file.readv(v, at), 8192);
    assert.ok(Buffer.concat(v).equals(w));
    assert.equal(await file.writev([allocAligned(4096, a).fill(7), allocAligned(4096, a).fill(8)], at + 8192), 8192);
    await file.fsync();
    await file.fdatasync();
    await file.close();
  }
  const back = fs.readFileSync(f.path);
  for (const [at, first] of [[131072, 0xd1], [196608, 0xb1]] as const) {
    assert.ok(back.subarray(at, at + 8192).every((x) => x === first), `write at ${at}`);
    assert.ok(back.subarray(at + 8192, at + 12288).every((x) => x === 7) && back.subarray(at + 12288, at + 16384).every((x) => x === 8), `writev at ${at + 8192}`);
  }
  assert.equal(queue.stats().inFlight, 0);
});

test('uring: per-request RWF flags reach the kernel (DSYNC, and an unknown flag refused with EOPNOTSUPP)', { skip }, async (t) => {
  const f = randomFile(t, 64 * 1024, 'uring-rwf');
  if (!f) return;
  const queue = new IoQueue({ engine: 'uring', depth: 4 });
  t.after(() => queue.close());
  const file = await open(f.path, 'r+', { queue, direct: false });
  t.after(() => file.close());
  const buf = Buffer.alloc(4096).fill(3);
  assert.equal(await file.write(buf, 0, { flags: RWF.DSYNC }), 4096);
  await assert.rejects(file.read(buf, 0, { flags: 0x40000000 }), (err: unknown) =>
    err instanceof AioError && err.errno === -95 && err.syscall === 'io_uring(read)');
});

/** The read end of a FIFO that never gets data: a read on it waits until cancelled. */
function emptyFifo(t: TestContext): string {
  const fifo = path.join(os.tmpdir(), `uring-fifo-${process.pid}-${Math.random().toString(36).slice(2)}`);
  assert.equal(spawnSync('mkfifo', [fifo]).status, 0, 'mkfifo');
  t.after(() => fs.rmSync(fifo, { force: true }));
  return fifo;
}

test('uring: abort cancels the request in the kernel (IORING_OP_ASYNC_CANCEL), so the file lets go of it', { skip }, async (t) => {
  const fifo = emptyFifo(t);
  // O_RDWR: a FIFO opened so needs no writer and never gets data.
  const file = await open(fifo, 'r+', { direct: false, engine: 'uring' });
  const controller = new AbortController();
  const buf = Buffer.alloc(64);
  const read = file.read(buf, 0, { signal: controller.signal });
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(file.inFlight, 1, 'the read waits in the kernel');
  controller.abort();
  await assert.rejects(read, { name: 'AbortError' });
  // Without the cancel the read would wait for data for ever, and so would close().
  const closed = await Promise.race([file.close().then(() => 'closed'), new Promise((r) => setTimeout(() => r('hung'), 3000))]);
  assert.equal(closed, 'closed');
});

test("uring: a queue's engine must agree with an explicit engine; bad queue engines are refused", { skip }, async (t) => {
  const f = randomFile(t, 4096, 'uring-queue');
  if (!f) return;
  const aio = new IoQueue({ depth: 2, engine: 'aio' });
  t.after(() => aio.close());
  await assert.rejects(open(f.path, 'r', { engine: 'uring', queue: aio }), TypeError);
  assert.throws(() => new IoQueue({ engine: 'io_uring' as never }), TypeError);
  assert.throws(() => new IoQueue({ engine: 'uring', reap: 'syscall' }), TypeError);
  assert.equal(IoQueue.default('uring'), IoQueue.default('uring'), "one shared ring per thread");
  assert.notEqual(IoQueue.default('uring') as unknown, IoQueue.default('aio') as unknown);
});
