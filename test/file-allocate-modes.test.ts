/**
 * allocate(offset, length, { mode }): each fallocate mode's effect on the
 * size, the contents and the blocks (st_blocks) on the real file system; a
 * mode the file system lacks is skipped with its reason; on the uring engine
 * a request of the ring (IORING_OP_FALLOCATE), on the others the thread pool.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { randomFillSync } from 'node:crypto';
import { open, allocAligned, AioError, IoQueue, type AioFile, type AllocateMode } from '../src/index.js';
import { uringAvailability } from '../src/engine/select.js';
import { attachLoop, diskDir, loopSkipReason, tempPath } from './helpers/disk.js';

const KiB = 1024;
const SIZE = 1024 * KiB;

const allocated = (p: string): number => fs.statSync(p).blocks * 512;

/** A file of SIZE random bytes, written and synced so its blocks are allocated. */
async function filled(t: TestContext): Promise<{ file: AioFile; path: string; data: Buffer } | undefined> {
  const { skip } = diskDir();
  if (skip) {
    t.skip(skip);
    return undefined;
  }
  const path = tempPath('falloc');
  const data = randomFillSync(Buffer.alloc(SIZE));
  fs.writeFileSync(path, data);
  const file = await open(path, 'r+');
  t.after(async () => {
    await file.close();
    fs.rmSync(path, { force: true });
  });
  await file.sync();
  return { file, path, data };
}

/** Runs the allocate, or skips the test when the file system lacks the mode. */
async function allocateOrSkip(t: TestContext, file: AioFile, offset: number, length: number, mode: AllocateMode): Promise<boolean> {
  try {
    await file.allocate(offset, length, { mode });
    return true;
  } catch (err) {
    if (err instanceof AioError && err.code === 'EOPNOTSUPP') {
      t.skip(`the file system here has no fallocate mode '${mode}': ${err.message}`);
      return false;
    }
    throw err;
  }
}

test("'keepSize' allocates blocks past the end without changing the size", async (t) => {
  const f = await filled(t);
  if (!f) return;
  const before = allocated(f.path);
  if (!(await allocateOrSkip(t, f.file, SIZE, 512 * KiB, 'keepSize'))) return;
  assert.equal(fs.statSync(f.path).size, SIZE, 'size unchanged');
  assert.ok(allocated(f.path) >= before + 512 * KiB, `blocks grew from ${before} to ${allocated(f.path)}`);
  assert.ok((await f.file.readFile()).equals(f.data), 'contents unchanged');
});

test("'default' past the end extends the size and allocates; the new range reads as zeros", async (t) => {
  const f = await filled(t);
  if (!f) return;
  const before = allocated(f.path);
  if (!(await allocateOrSkip(t, f.file, SIZE, 256 * KiB, 'default'))) return;
  assert.equal(fs.statSync(f.path).size, SIZE + 256 * KiB);
  assert.ok(allocated(f.path) >= before + 256 * KiB);
  const back = await f.file.readFile();
  assert.ok(back.subarray(0, SIZE).equals(f.data) && back.subarray(SIZE).every((b) => b === 0));
});

test("'punchHole' frees the blocks of the range, which reads as zeros; the size stays", async (t) => {
  const f = await filled(t);
  if (!f) return;
  const before = allocated(f.path);
  if (!(await allocateOrSkip(t, f.file, 256 * KiB, 512 * KiB, 'punchHole'))) return;
  assert.equal(fs.statSync(f.path).size, SIZE);
  const after = allocated(f.path);
  assert.ok(after <= before - 512 * KiB, `blocks fell from ${before} to ${after}`);
  const back = await f.file.readFile();
  assert.ok(back.subarray(0, 256 * KiB).equals(f.data.subarray(0, 256 * KiB)), 'before the hole unchanged');
  assert.ok(back.subarray(256 * KiB, 768 * KiB).every((b) => b === 0), 'the hole reads as zeros');
  assert.ok(back.subarray(768 * KiB).equals(f.data.subarray(768 * KiB)), 'after the hole unchanged');
});

test("'zeroRange' zeroes an unaligned range in place, blocks kept, and past the end extends the size", async (t) => {
  const f = await filled(t);
  if (!f) return;
  const before = allocated(f.path);
  const [from, length] = [4096 + 100, 3 * 4096];
  if (!(await allocateOrSkip(t, f.file, from, length, 'zeroRange'))) return;
  assert.equal(fs.statSync(f.path).size, SIZE);
  assert.ok(allocated(f.path) >= before - 4 * 4096, 'the blocks stay allocated (unwritten extents at most)');
  const expected = Buffer.from(f.data);
  expected.fill(0, from, from + length);
  assert.ok((await f.file.readFile()).equals(expected), 'exactly the range reads as zeros');
  await f.file.allocate(SIZE, 4096, { mode: 'zeroRange' });
  assert.equal(fs.statSync(f.path).size, SIZE + 4096);
});

test('allocate checks its mode and options before the kernel and leaves nothing counted', async (t) => {
  const f = await filled(t);
  if (!f) return;
  const file = f.file as unknown as { allocate(...a: unknown[]): Promise<void> };
  for (const [args, type] of [
    [[0, 4096, { mode: 'sparse' }], TypeError],
    [[0, 4096, { mode: 3 }], TypeError],
    [[0, 4096, null], TypeError],
    [[0, 4096, 'keepSize'], TypeError],
    [[0, 0, { mode: 'default' }], RangeError],
    [[-1, 4096], RangeError],
    [[Number.MAX_SAFE_INTEGER, 2], RangeError],
  ] as const) {
    await assert.rejects(file.allocate(...args), type, JSON.stringify(args));
  }
  assert.equal(f.file.inFlight, 0);
  assert.equal(fs.statSync(f.path).size, SIZE);
});

test('a mode the device refuses is an AioError with the path and a hint; a block device takes zeroRange in place', async (t) => {
  const why = loopSkipReason();
  if (why) return t.skip(why);
  const loop = attachLoop(4 << 20);
  t.after(() => loop.detach());
  const dev = await open(loop.device, 'r+');
  t.after(() => dev.close());
  const ones = allocAligned(8192, dev.alignment.memory).fill(1);
  assert.equal(await dev.write(ones, 0), 8192);
  try {
    await dev.allocate(0, 8192, { mode: 'zeroRange' });
  } catch (err) {
    assert.ok(err instanceof AioError, String(err));
    assert.equal((err as AioError & { path?: string }).path, loop.device);
    assert.match(err.hint ?? '', new RegExp(`zeroRange.*${loop.device}`));
    return t.skip(`this loop device refuses zeroRange: ${err.message}`);
  }
  assert.equal((await dev.stat()).size, 4 << 20, 'the size of a device never changes');
  assert.ok((await dev.readAt(0, 8192)).every((b) => b === 0));
  // 'default' on a device has no KEEP_SIZE meaning and the kernel refuses it.
  await assert.rejects(dev.allocate(0, 4096), (e: AioError & { path?: string }) => e instanceof AioError && e.path === loop.device);
  assert.equal(dev.inFlight, 0);
});

test('allocate is a request of the ring on io_uring (IORING_OP_FALLOCATE) and runs on the thread pool on Linux AIO', async (t) => {
  const { skip } = diskDir();
  if (skip) return t.skip(skip);
  const uring = uringAvailability();
  for (const engine of ['aio', 'uring'] as const) {
    await t.test(engine, async (t) => {
      if (engine === 'uring' && !uring.usable) return t.skip(`io_uring is not usable here: ${uring.reason}`);
      const queue = new IoQueue({ engine, depth: 4 });
      t.after(() => queue.close());
      const path = tempPath(`falloc-${engine}`);
      fs.writeFileSync(path, Buffer.alloc(64 * KiB, 7));
      t.after(() => fs.rmSync(path, { force: true }));
      const file = await open(path, 'r+', { queue });
      t.after(() => file.close());
      assert.equal(file.engine, engine);
      const before = allocated(path);
      const pending = file.allocate(64 * KiB, 256 * KiB, { mode: 'keepSize' });
      assert.equal(file.inFlight, 1, 'close() waits for an allocate in flight, counted once');
      await pending;
      assert.equal(fs.statSync(path).size, 64 * KiB, 'keepSize kept the size');
      assert.ok(allocated(path) >= before + 256 * KiB, `blocks grew from ${before} to ${allocated(path)}`);
      await file.allocate(0, 128 * KiB);
      assert.equal(queue.stats().submitted, engine === 'uring' ? 2 : 0, 'both allocates went to the ring, or neither to the queue');
      assert.equal(fs.statSync(path).size, 128 * KiB, "'default' extended the file");
      assert.ok((await file.readFile()).subarray(64 * KiB).every((b) => b === 0), 'the new range reads as zeros');
      assert.equal(file.inFlight, 0);

      // The kernel's refusal names the engine's call, the file and the mode.
      const ro = await open(path, 'r', { queue });
      t.after(() => ro.close());
      await assert.rejects(ro.allocate(0, 4096), (err: unknown) => {
        assert.ok(err instanceof AioError, String(err));
        assert.equal(err.code, 'EBADF');
        assert.equal(err.syscall, engine === 'uring' ? 'io_uring(fallocate)' : 'fallocate');
        assert.equal((err as AioError & { path?: string }).path, path);
        assert.match(err.hint ?? '', /fallocate mode 'default' of 4096 bytes at 0 .*needs a file opened for writing/);
        return true;
      });
      assert.equal(ro.inFlight, 0);
    });
  }
});
