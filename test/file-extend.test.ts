/**
 * Growing a file without writing past its end: open(..., { size })
 * and allocate(offset, length) use fallocate, so the size changes and the
 * blocks are really allocated (st.blocks), and later writes inside land
 * without changing the size.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { open, allocAligned, AioError } from '../src/index.js';
import { scratchPath } from './helpers/disk.js';
import { KERNEL_ENGINE } from './helpers/engine.js';

const MiB = 1 << 20;

/** Bytes allocated on disk, from st_blocks (always 512-byte units). */
const allocated = (p: string): number => fs.statSync(p).blocks * 512;

test('open(path, "w+", { size }) creates a file of that size with its blocks allocated', async (t) => {
  const p = scratchPath(t, 'extend-size');
  if (!p) return;
  const size = 4 * MiB;
  const file = await open(p, 'w+', { size });
  t.after(() => file.close());
  assert.equal((await file.stat()).size, size, 'stat().size');
  assert.equal(fs.statSync(p).size, size, 'fs.statSync size');
  assert.ok(allocated(p) >= size, `st.blocks shows ${allocated(p)} bytes allocated for ${size}`);
  // The preallocated range reads as zeros and takes writes without growing.
  const buf = allocAligned(4096, file.alignment.memory).fill(0xff);
  assert.equal(await file.read(buf, size - 4096), 4096);
  assert.ok(buf.every((b) => b === 0), 'preallocated blocks read as zeros');
  buf.fill(0x3c);
  assert.equal(await file.write(buf, size - 4096), 4096);
  assert.equal((await file.stat()).size, size, 'a write inside the preallocation keeps the size');
  await file.fsync();
  const data = fs.readFileSync(p);
  assert.ok(data.subarray(size - 4096).every((b) => b === 0x3c), 'the write is in the file');
});

test('{ size } on an existing larger file neither shrinks nor clears it; a larger size extends it', async (t) => {
  const p = scratchPath(t, 'extend-existing');
  if (!p) return;
  const content = Buffer.alloc(3 * 4096, 0x11);
  fs.writeFileSync(p, content);
  const small = await open(p, 'r+', { size: 4096 });
  assert.equal((await small.stat()).size, content.length, 'a smaller size leaves the file as it is');
  await small.close();
  assert.ok(fs.readFileSync(p).equals(content), 'contents untouched');

  const big = await open(p, 'r+', { size: MiB });
  t.after(() => big.close());
  assert.equal((await big.stat()).size, MiB);
  assert.equal(fs.statSync(p).size, MiB);
  const data = fs.readFileSync(p);
  assert.ok(data.subarray(0, content.length).equals(content), 'the old contents are kept');
  assert.ok(data.subarray(content.length).every((b) => b === 0), 'the extension reads as zeros');
  assert.ok(allocated(p) >= MiB, 'the extension is allocated');
});

test('allocate(offset, length) past the end extends the file and allocates the blocks', async (t) => {
  const p = scratchPath(t, 'extend-allocate');
  if (!p) return;
  const file = await open(p, 'w+');
  t.after(() => file.close());
  assert.equal((await file.stat()).size, 0);
  assert.equal(allocated(p), 0, 'a new file has no blocks');

  await file.allocate(0, MiB);
  assert.equal((await file.stat()).size, MiB);
  assert.equal(fs.statSync(p).size, MiB);
  const afterFirst = allocated(p);
  assert.ok(afterFirst >= MiB, `1 MiB allocated (${afterFirst})`);

  // A range that starts past the end: the size becomes offset + length and
  // only that range is allocated (the gap stays a hole).
  await file.allocate(3 * MiB, MiB);
  const st = await file.stat();
  assert.equal(st.size, 4 * MiB);
  assert.equal(fs.statSync(p).size, 4 * MiB);
  const afterSecond = allocated(p);
  assert.ok(afterSecond >= afterFirst + MiB, `another MiB allocated (${afterSecond})`);
  assert.ok(afterSecond < 4 * MiB, `the gap at 1..3 MiB is still a hole (${afterSecond} bytes allocated)`);

  // Inside the file: nothing changes size, and the hole gets its blocks.
  await file.allocate(MiB, 2 * MiB);
  assert.equal((await file.stat()).size, 4 * MiB, 'allocate inside the file keeps the size');
  assert.ok(allocated(p) >= 4 * MiB, 'the hole is now allocated');

  // Writes anywhere in the allocated range land and keep the size.
  const writes: Promise<number>[] = [];
  for (let i = 0; i < 16; i++) {
    const buf = allocAligned(4096, file.alignment.memory).fill(i + 1);
    writes.push(file.write(buf, i * 256 * 1024));
  }
  assert.deepEqual(await Promise.all(writes), new Array(16).fill(4096));
  await file.fdatasync();
  assert.equal(fs.statSync(p).size, 4 * MiB);
  const data = fs.readFileSync(p);
  for (let i = 0; i < 16; i++) {
    const at = i * 256 * 1024;
    assert.ok(data.subarray(at, at + 4096).every((b) => b === i + 1), `write ${i} at ${at}`);
  }
});

test('allocate rejects bad ranges and files not open for writing', async (t) => {
  const p = scratchPath(t, 'extend-bad');
  if (!p) return;
  fs.writeFileSync(p, '');
  const file = await open(p, 'r');
  t.after(() => file.close());
  await assert.rejects(file.allocate(-1, 4096), RangeError);
  await assert.rejects(file.allocate(0, 0), RangeError);
  await assert.rejects(file.allocate(0, 1.5), RangeError);
  await assert.rejects(file.allocate('0' as unknown as number, 4096), TypeError);
  await assert.rejects(file.allocate(0, 4096), (err: unknown) => {
    assert.ok(err instanceof AioError);
    assert.equal(err.code, 'EBADF', 'fallocate on a read-only fd');
    assert.equal(err.syscall, KERNEL_ENGINE === 'uring' ? 'io_uring(fallocate)' : 'fallocate');
    return true;
  });
  assert.equal(fs.statSync(p).size, 0, 'nothing was allocated');
  const fdsBefore = fs.readdirSync('/proc/self/fd').length;
  await assert.rejects(open(p, 'r', { size: 4096 }), (err: unknown) => {
    assert.ok(err instanceof AioError);
    assert.equal(err.code, 'EBADF', '{ size } on a read-only open');
    return true;
  });
  assert.equal(fs.readdirSync('/proc/self/fd').length, fdsBefore, 'the failed open closed its fd');
  await assert.rejects(open(p, 'r+', { size: -1 }), RangeError);
});

test('allocate() runs off the event loop, and close() waits for an allocate in flight', async (t) => {
  const path = scratchPath(t, 'alloc-async');
  if (!path) return;
  const file = await open(path, 'w+');
  const size = 256 * 1024 * 1024;
  let settled = false;
  const allocating = file.allocate(0, size).finally(() => {
    settled = true;
  });
  // A fallocate made on the JavaScript thread would have finished before
  // the call returned, and its promise would settle within the microtasks
  // that follow; one on the thread pool (or in io_uring's workers) can only
  // settle in a later turn of the event loop.
  for (let i = 0; i < 20; i++) await Promise.resolve();
  assert.equal(settled, false, 'allocate() settled without a turn of the event loop: the fallocate ran on this thread');
  assert.equal(file.inFlight, 1, 'the allocate counts as in flight');
  const closing = file.close();
  await allocating; // not EBADF: the fd stayed open until it finished
  await closing;
  assert.equal(fs.statSync(path).size, size);
  await assert.rejects(file.allocate(0, 4096), (e: unknown) => e instanceof AioError && e.code === 'EBADF');
});
