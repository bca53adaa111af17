/**
 * Registered buffers and files on the io_uring engine (IoQueue.registerBuffers,
 * open(..., { registerFile: true })):
 * requests inside a registered buffer go as READ_FIXED/WRITE_FIXED (and only
 * those: stats().fixedBuffers counts them), what is refused and why, and the
 * lifetime rule that the ring keeps the memory reachable until it is torn
 * down.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { AioError, IoQueue, allocAligned, open } from '../src/index.js';
import { uringAvailability } from '../src/engine/select.js';
import { randomFile } from './helpers/disk.js';
import { forceGC } from './helpers/gc.js';

const uring = uringAvailability();
const skip = uring.usable ? undefined : `io_uring is not usable here: ${uring.reason}`;
const PAGE = 4096;

function uringQueue(t: { after(fn: () => Promise<void>): void }): IoQueue {
  const queue = new IoQueue({ engine: 'uring', depth: 8 });
  t.after(() => queue.close());
  return queue;
}

test('uring fixed: reads and writes inside a registered buffer go fixed, the data right; others go as before', { skip }, async (t) => {
  const f = randomFile(t, 16 * PAGE, 'fixed-rw');
  if (!f) return;
  const queue = uringQueue(t);
  const arena = allocAligned(8 * PAGE);
  assert.equal(queue.registerBuffers([arena]), 1);
  const file = await open(f.path, 'r+', { queue });
  t.after(() => file.close());
  assert.equal(queue.stats().fixedBuffers, 0);

  const a = arena.subarray(0, PAGE);
  const b = arena.subarray(5 * PAGE, 7 * PAGE);
  assert.deepEqual(await Promise.all([file.read(a, 3 * PAGE), file.read(b, 8 * PAGE)]), [PAGE, 2 * PAGE]);
  assert.ok(a.equals(f.data.subarray(3 * PAGE, 4 * PAGE)));
  assert.ok(b.equals(f.data.subarray(8 * PAGE, 10 * PAGE)));
  assert.equal(queue.stats().fixedBuffers, 2, 'both reads READ_FIXED');

  const w = arena.subarray(7 * PAGE, 8 * PAGE).fill(0x5a);
  assert.equal(await file.write(w, 0), PAGE);
  assert.equal(queue.stats().fixedBuffers, 3, 'the write WRITE_FIXED');
  const check = allocAligned(PAGE);
  assert.equal(await file.read(check, 0), PAGE);
  assert.ok(check.every((x) => x === 0x5a), 'what WRITE_FIXED wrote is in the file');

  // Not fixed: a buffer of its own, a vectored read into the arena, and a
  // view that runs past the registered range (a larger allocation's piece).
  const outer = allocAligned(4 * PAGE);
  const partly = new IoQueue({ engine: 'uring', depth: 4 });
  t.after(() => partly.close());
  partly.registerBuffers([outer.subarray(0, 2 * PAGE)]);
  const file2 = await open(f.path, 'r', { queue: partly });
  t.after(() => file2.close());
  assert.equal(await file2.read(outer.subarray(PAGE, 3 * PAGE), 8 * PAGE), 2 * PAGE);
  assert.ok(outer.subarray(PAGE, 3 * PAGE).equals(f.data.subarray(8 * PAGE, 10 * PAGE)));
  assert.equal(partly.stats().fixedBuffers, 0, 'a view running past the registered range is not fixed');
  assert.equal(await file.readv([arena.subarray(0, PAGE)], 0), PAGE);
  assert.equal(await file.read(allocAligned(PAGE), PAGE), PAGE);
  assert.equal(queue.stats().fixedBuffers, 3, 'readv and an unregistered buffer go as before');
});

test('uring fixed: what registerBuffers refuses, with typed errors', { skip }, async (t) => {
  const aio = new IoQueue({ engine: 'aio', depth: 2 });
  t.after(() => aio.close());
  assert.throws(() => aio.registerBuffers([allocAligned(PAGE)]), (e: unknown) => e instanceof TypeError && /io_uring queue/.test(e.message));
  assert.equal(aio.stats().fixedBuffers, 0);

  const queue = uringQueue(t);
  assert.throws(() => queue.registerBuffers(allocAligned(PAGE) as never), TypeError);
  assert.throws(() => queue.registerBuffers([new ArrayBuffer(PAGE) as never]), TypeError);
  assert.throws(() => queue.registerBuffers([]), RangeError);
  assert.throws(() => queue.registerBuffers([new Uint8Array(0)]), TypeError);
  const gone = new Uint8Array(PAGE);
  structuredClone(gone.buffer, { transfer: [gone.buffer] });
  assert.throws(() => queue.registerBuffers([gone]), TypeError, 'a detached view');
  const Resizable = ArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => ArrayBuffer;
  const resizable = new Resizable(PAGE, { maxByteLength: 2 * PAGE });
  if ((resizable as { resizable?: boolean }).resizable === true) {
    assert.throws(() => queue.registerBuffers([new Uint8Array(resizable)]), (e: unknown) => e instanceof TypeError && /resizable/.test(e.message));
    // A view whose own `buffer` hides the resizable memory is refused as well.
    const disguised = new Uint8Array(resizable);
    Object.defineProperty(disguised, 'buffer', { get: () => new ArrayBuffer(PAGE) });
    assert.throws(() => queue.registerBuffers([disguised]), (e: unknown) => e instanceof TypeError && /resizable/.test(e.message));
  }
  assert.throws(() => queue.registerBuffers(new Array(1025).fill(new Uint8Array(8))), RangeError);

  // Refusals left the ring unregistered: a good call still works, once.
  assert.equal(queue.registerBuffers([allocAligned(PAGE), allocAligned(PAGE)]), 2);
  assert.throws(() => queue.registerBuffers([allocAligned(PAGE)]), (e: unknown) => e instanceof AioError && e.code === 'EBUSY');

  const closed = new IoQueue({ engine: 'uring', depth: 2 });
  await closed.close();
  assert.throws(() => closed.registerBuffers([allocAligned(PAGE)]), (e: unknown) => e instanceof AioError && e.code === 'EBADF');
});

test('uring fixed: registering with a request in flight is EBUSY', { skip }, async (t) => {
  const f = randomFile(t, 4 * PAGE, 'fixed-busy');
  if (!f) return;
  const queue = uringQueue(t);
  const file = await open(f.path, 'r', { queue });
  t.after(() => file.close());
  const reading = file.read(allocAligned(PAGE), 0);
  await new Promise((resolve) => process.nextTick(resolve)); // the queue submits on the next tick
  if (queue.stats().inFlight !== 1) {
    await reading;
    t.skip('the read completed inside io_uring_enter: nothing stayed in flight to test with');
    return;
  }
  assert.throws(() => queue.registerBuffers([allocAligned(PAGE)]), (e: unknown) => e instanceof AioError && e.code === 'EBUSY' && /in flight/.test(e.hint ?? ''));
  assert.equal(await reading, PAGE);
  assert.equal(queue.registerBuffers([allocAligned(PAGE)]), 1, 'idle again, it registers');
});

test('uring fixed: the ring keeps a registered buffer reachable until the queue is closed, then lets go', { skip }, async () => {
  const queue = new IoQueue({ engine: 'uring', depth: 2 });
  let ref: WeakRef<ArrayBufferLike> | undefined;
  (() => {
    const arena = allocAligned(4 * PAGE);
    ref = new WeakRef(arena.buffer);
    queue.registerBuffers([arena]);
  })();
  for (let i = 0; i < 3; i++) {
    forceGC();
    await new Promise((resolve) => setImmediate(resolve));
  }
  assert.ok(ref!.deref() !== undefined, 'alive while registered, though JavaScript dropped it');
  await queue.close();
  // No deref() in between: it would keep the target alive to the end of the turn.
  for (let i = 0; i < 5; i++) {
    forceGC();
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  assert.equal(ref!.deref(), undefined, 'collected once the ring is torn down');
});

test('uring fixed: a registered buffer transferred away is no longer used fixed', { skip }, async (t) => {
  const f = randomFile(t, 4 * PAGE, 'fixed-moved');
  if (!f) return;
  const queue = uringQueue(t);
  const arena = allocAligned(4 * PAGE);
  queue.registerBuffers([arena]);
  const file = await open(f.path, 'r', { queue });
  t.after(() => file.close());
  assert.equal(await file.read(arena.subarray(0, PAGE), 0), PAGE);
  assert.equal(queue.stats().fixedBuffers, 1);
  const moved = new Uint8Array(structuredClone(arena.buffer as ArrayBuffer, { transfer: [arena.buffer as ArrayBuffer] }));
  assert.equal(arena.length, 0, 'detached here');
  await assert.rejects(async () => file.read(arena, 0), TypeError, 'a detached view is refused as before');
  const fresh = allocAligned(PAGE);
  assert.equal(await file.read(fresh, PAGE), PAGE);
  assert.ok(fresh.equals(f.data.subarray(PAGE, 2 * PAGE)));
  assert.equal(queue.stats().fixedBuffers, 1, 'nothing went fixed after the transfer');
  assert.ok(moved.byteLength >= 4 * PAGE, 'the memory lives on where it went');
});

test('uring files: registerFile puts the file in the ring table: every request goes fixed, the data right', { skip }, async (t) => {
  const f = randomFile(t, 8 * PAGE, 'regfile');
  if (!f) return;
  const queue = uringQueue(t);
  const file = await open(f.path, 'r+', { queue, registerFile: true });
  t.after(() => file.close());
  assert.equal(file.registered, true);
  const plain = await open(f.path, 'r', { queue });
  t.after(() => plain.close());
  assert.equal(plain.registered, false);
  const buf = allocAligned(PAGE);
  assert.equal(await file.read(buf, 2 * PAGE), PAGE);
  assert.ok(buf.equals(f.data.subarray(2 * PAGE, 3 * PAGE)));
  assert.equal(await file.write(allocAligned(PAGE).fill(7), 0), PAGE);
  await file.fdatasync();
  await file.allocate(8 * PAGE, PAGE);
  assert.equal(queue.stats().fixedFiles, 4, 'read, write, fdatasync and fallocate on the registered file');
  assert.equal(await plain.read(buf, 0), PAGE);
  assert.ok(buf.every((x) => x === 7), 'the write reached the file');
  assert.equal(queue.stats().fixedFiles, 4, 'the unregistered file goes as before');
});

test('uring files: close waits for requests in flight, then takes the file out: a file reusing the fd is not sent to the old one', { skip }, async (t) => {
  const a = randomFile(t, 8 * PAGE, 'regfile-a');
  const b = randomFile(t, 8 * PAGE, 'regfile-b');
  if (!a || !b) return;
  const queue = uringQueue(t);
  const first = await open(a.path, 'r', { queue, registerFile: true });
  const bufs = [0, 1, 2, 3].map(() => allocAligned(PAGE));
  const reads = bufs.map((buf, i) => first.read(buf, i * PAGE));
  const closed = first.close();
  assert.deepEqual(await Promise.all(reads), [PAGE, PAGE, PAGE, PAGE]);
  await closed;
  bufs.forEach((buf, i) => assert.ok(buf.equals(a.data.subarray(i * PAGE, (i + 1) * PAGE))));
  const counted = queue.stats().fixedFiles;
  assert.equal(counted, 4);
  const second = await open(b.path, 'r', { queue });
  t.after(() => second.close());
  assert.equal(second.fd, first.fd, 'the number was reused (the test needs it)');
  const buf = allocAligned(PAGE);
  assert.equal(await second.read(buf, PAGE), PAGE);
  assert.ok(buf.equals(b.data.subarray(PAGE, 2 * PAGE)), "the new file's data, not the old file's");
  assert.equal(queue.stats().fixedFiles, counted);
  // The table entry is free again: registered files come and go.
  for (let i = 0; i < 3; i++) {
    const again = await open(a.path, 'r', { queue, registerFile: true });
    assert.equal(await again.read(buf, 0), PAGE);
    await again.close();
  }
  assert.equal(queue.stats().fixedFiles, counted + 3);
});

test('uring files: Linux AIO and the thread pool ignore registerFile (file.registered false); a non-boolean is a TypeError', async (t) => {
  const f = randomFile(t, 2 * PAGE, 'regfile-aio');
  if (!f) return;
  const aio = await open(f.path, 'r', { engine: 'aio', registerFile: true });
  t.after(() => aio.close());
  assert.equal(aio.registered, false);
  assert.equal(await aio.read(allocAligned(PAGE), 0), PAGE);
  const pool = await open(f.path, 'r', { engine: 'threadpool', direct: false, registerFile: true });
  t.after(() => pool.close());
  assert.equal(pool.registered, false);
  await assert.rejects(open(f.path, 'r', { registerFile: 1 as never }), TypeError);
});

test('uring files: a registered file dropped without close() leaves the table before its fd closes', { skip }, async (t) => {
  const a = randomFile(t, 4 * PAGE, 'regfile-drop-a');
  const b = randomFile(t, 4 * PAGE, 'regfile-drop-b');
  if (!a || !b) return;
  const queue = uringQueue(t);
  const warnings: string[] = [];
  const onWarning = (w: Error & { code?: string }): void => void warnings.push(w.code ?? '');
  process.on('warning', onWarning);
  t.after(() => process.off('warning', onWarning));
  let fd = -1;
  await (async () => {
    const dropped = await open(a.path, 'r', { queue, registerFile: true });
    fd = dropped.fd;
    assert.equal(await dropped.read(allocAligned(PAGE), 0), PAGE);
  })();
  for (let i = 0; i < 100 && !warnings.includes('LINUX_AIO_UNCLOSED_FILE'); i++) {
    forceGC();
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  if (!warnings.includes('LINUX_AIO_UNCLOSED_FILE')) {
    t.skip('the dropped file was not collected within 100 forced collections');
    return;
  }
  await new Promise((resolve) => setTimeout(resolve, 10)); // its fs.close
  const second = await open(b.path, 'r', { queue });
  t.after(() => second.close());
  if (second.fd !== fd) {
    t.skip(`the fd ${fd} was not reused (got ${second.fd}), so nothing could be sent to the old file`);
    return;
  }
  const buf = allocAligned(PAGE);
  assert.equal(await second.read(buf, 0), PAGE);
  assert.ok(buf.equals(b.data.subarray(0, PAGE)), "the new file's data, not the dropped one's");
  assert.equal(queue.stats().fixedFiles, 1);
});

test('uring files: a registered file whose fd is closed behind the library keeps its entry; the next file on that number reaches its own file', { skip }, async (t) => {
  const a = randomFile(t, 4 * PAGE, 'regfile-stale-a');
  const b = randomFile(t, 4 * PAGE, 'regfile-stale-b');
  if (!a || !b) return;
  const queue = uringQueue(t);
  const first = await open(a.path, 'r+', { queue, registerFile: true });
  const fd = first.fd;
  fs.closeSync(fd);
  const second = await open(b.path, 'r+', { queue });
  assert.equal(second.fd, fd, 'the number was reused (the test needs it)');
  assert.equal(await second.write(allocAligned(PAGE).fill(0x5a), 0), PAGE);
  await second.close();
  assert.ok(fs.readFileSync(b.path).subarray(0, PAGE).every((x) => x === 0x5a), 'the write reached the new file');
  assert.ok(fs.readFileSync(a.path).equals(a.data), 'the old file is untouched');
  assert.equal(queue.stats().fixedFiles, 0, 'the unregistered file went as before');
  // A registered file on the reused number has an entry of its own.
  const third = await open(b.path, 'r', { queue, registerFile: true });
  assert.equal(third.fd, fd);
  const buf = allocAligned(PAGE);
  assert.equal(await third.read(buf, 0), PAGE);
  assert.ok(buf.every((x) => x === 0x5a), "the third file's own data");
  assert.equal(queue.stats().fixedFiles, 1);
  await third.close();
  // Something harmless on the number, for the first file's close to close.
  assert.equal(fs.openSync('/dev/null', 'r'), fd);
  // The first file's entry is still its own (the kernel holds the file); its close empties it.
  assert.equal(await first.read(buf, 0), PAGE);
  assert.ok(buf.equals(a.data.subarray(0, PAGE)), 'the first file still reads its own file through the table');
  await first.close();
});
