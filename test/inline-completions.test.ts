/**
 * Completions already in the ring when io_submit returns (tmpfs with
 * O_DIRECT, Linux 6.6+: a memory copy inside the call) are delivered in the
 * same turn, without an eventfd wake-up. A chain of such reads must still let
 * the event loop come round (timers fire), every read must get its own
 * block's bytes, and a queue must drain and close as usual.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { open, allocAligned, IoQueue, type AioFile } from '../src/index.js';
import { diskDir, tempPath } from './helpers/disk.js';

const BLOCK = 4096;
const BLOCKS = 256;

/** Why a file on /dev/shm cannot be opened O_DIRECT here, or a folder there. */
function shmDir(): { dir?: string; skip?: string } {
  let dir: string;
  try {
    dir = fs.mkdtempSync(path.join('/dev/shm', 'linux-aio-inline-'));
  } catch (err) {
    return { skip: `no writable /dev/shm (${(err as Error).message})` };
  }
  try {
    fs.closeSync(fs.openSync(path.join(dir, 'probe'), fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_DIRECT, 0o600));
    return { dir };
  } catch {
    fs.rmSync(dir, { recursive: true, force: true });
    return { skip: 'tmpfs refuses O_DIRECT on this kernel (it takes it from Linux 6.6)' };
  }
}

/** A file of BLOCKS blocks, block i filled with (i * 7 + 1) & 0xff, opened O_DIRECT on `queue`; in `dir`. */
async function fixture(t: TestContext, queue: IoQueue, dir: string): Promise<AioFile> {
  const file = path.join(dir, `inline-${process.pid}`);
  const data = Buffer.alloc(BLOCKS * BLOCK);
  for (let i = 0; i < BLOCKS; i++) data.fill((i * 7 + 1) & 0xff, i * BLOCK, (i + 1) * BLOCK);
  fs.writeFileSync(file, data);
  const f = await open(file, 'r', { queue });
  t.after(async () => {
    await f.close();
    await queue.close();
    fs.rmSync(file, { force: true });
  });
  assert.equal(f.engine, 'aio');
  return f;
}

function onTmpfs(t: TestContext): string | undefined {
  const { dir, skip } = shmDir();
  if (skip) {
    t.skip(skip);
    return undefined;
  }
  t.after(() => fs.rmSync(dir!, { recursive: true, force: true }));
  return dir;
}

test('tmpfs: a long chain of reads completed inside io_submit still lets timers fire', async (t) => {
  const dir = onTmpfs(t);
  if (!dir) return;
  const queue = new IoQueue({ depth: 4 });
  if (queue.reapMode !== 'ring') {
    await queue.close();
    return t.skip('completions are reaped by syscall here (LINUX_AIO_REAP=syscall?): nothing is delivered inline');
  }
  const file = await fixture(t, queue, dir);
  const buf = allocAligned(BLOCK);

  let ticks = 0;
  let chainDone = false;
  const timer = setInterval(() => {
    if (!chainDone) ticks++;
  }, 1);
  t.after(() => clearInterval(timer));
  // Let the interval start before the chain takes over.
  await new Promise((r) => setTimeout(r, 5));

  const N = 20_000;
  ticks = 0;
  const before = queue.stats();
  const started = performance.now();
  for (let i = 0; i < N; i++) {
    const block = (i * 37) % BLOCKS;
    assert.equal(await file.read(buf, block * BLOCK), BLOCK);
    if (buf[0] !== ((block * 7 + 1) & 0xff) || buf[BLOCK - 1] !== buf[0]) assert.fail(`read ${i} (block ${block}) has the wrong bytes`);
  }
  const elapsed = performance.now() - started;
  chainDone = true;
  const after = queue.stats();

  const inline = after.completedInline - before.completedInline;
  assert.ok(inline > N / 2, `most completions were delivered inline (${inline} of ${N})`);
  // Without a budget the chain never returns to the event loop and the
  // interval fires not once until it ends.
  const expected = Math.floor(elapsed / 20);
  assert.ok(ticks >= Math.min(3, expected), `the 1 ms interval fired ${ticks} times during a ${elapsed.toFixed(0)} ms chain`);
});

test('tmpfs: 32 reads in flight completed inline each get their own block, in order of completion', async (t) => {
  const dir = onTmpfs(t);
  if (!dir) return;
  const queue = new IoQueue({ depth: 32 });
  const file = await fixture(t, queue, dir);
  const order: number[] = [];
  const reads: Promise<void>[] = [];
  const rounds = 50;
  for (let w = 0; w < 32; w++) {
    reads.push((async () => {
      const buf = allocAligned(BLOCK);
      for (let r = 0; r < rounds; r++) {
        const block = (w * 31 + r * 17) % BLOCKS;
        assert.equal(await file.read(buf, block * BLOCK), BLOCK);
        assert.equal(buf[0], (block * 7 + 1) & 0xff, `worker ${w} round ${r}: block ${block}`);
        assert.equal(buf[BLOCK - 1], buf[0]);
        order.push(w);
      }
    })());
  }
  await Promise.all(reads);
  assert.equal(order.length, 32 * rounds);
  const s = queue.stats();
  assert.equal(s.inFlight, 0);
  assert.equal(s.submitted, s.completed);
  // Every request was submitted in batches, not one syscall each.
  assert.ok(s.submitCalls < (32 * rounds) / 4, `${s.submitCalls} io_submit calls for ${32 * rounds} reads`);
});

test('tmpfs: close() after a chain of inline completions resolves, and later reads reject', async (t) => {
  const dir = onTmpfs(t);
  if (!dir) return;
  const queue = new IoQueue({ depth: 8 });
  const file = await fixture(t, queue, dir);
  const buf = allocAligned(BLOCK);
  const pending = [];
  for (let i = 0; i < 8; i++) pending.push(file.read(allocAligned(BLOCK), i * BLOCK));
  const closing = queue.close();
  assert.deepEqual(await Promise.all(pending), Array(8).fill(BLOCK));
  await closing;
  await assert.rejects(file.read(buf, 0), { code: 'EBADF' });
});

test('tmpfs: once a file\'s reads are found complete inside io_submit, it goes without the eventfd, and every read still lands', async (t) => {
  const dir = onTmpfs(t);
  if (!dir) return;
  const queue = new IoQueue({ depth: 8 });
  if (queue.reapMode !== 'ring') {
    await queue.close();
    return t.skip('completions are reaped by syscall here: nothing is delivered inline');
  }
  const file = await fixture(t, queue, dir);
  const bufs = Array.from({ length: 8 }, () => allocAligned(BLOCK));
  for (let round = 0; round < 40; round++) {
    const blocks = bufs.map((_, i) => (round * 8 + i) % BLOCKS);
    const got = await Promise.all(bufs.map((b, i) => file.read(b, blocks[i]! * BLOCK)));
    assert.deepEqual(got, Array(8).fill(BLOCK));
    for (const [i, b] of bufs.entries()) assert.equal(b[BLOCK - 1], (blocks[i]! * 7 + 1) & 0xff, `round ${round}, block ${blocks[i]}`);
  }
  const s = queue.stats();
  // 64 found at once in a row, then the rest of the 320 go quiet (except
  // the few the inline budget leaves to the event loop).
  assert.ok(s.submittedQuiet >= 320 - 64 - 64 && s.submittedQuiet <= 320 - 64, `${s.submittedQuiet} of 320 reads went quiet`);
  assert.equal(s.inFlight, 0);
  // An fsync runs on a kernel worker: it always carries the eventfd, and completes.
  await file.fsync();
  assert.equal(queue.stats().submittedQuiet, s.submittedQuiet);
});

test('disk: a file quiet on its holes stops being quiet when a read has to wait for the device, and that read still completes', async (t) => {
  const { skip } = diskDir();
  if (skip) return t.skip(skip);
  const queue = new IoQueue({ depth: 8 });
  if (queue.reapMode !== 'ring') {
    await queue.close();
    return t.skip('completions are reaped by syscall here: nothing is delivered inline');
  }
  // 8 MiB of hole, then 1 MiB of data written through O_DIRECT (on the disk, not in the page cache).
  const HOLE = 8 << 20;
  const DATA = 1 << 20;
  const data = allocAligned(DATA);
  for (let i = 0; i < DATA; i += BLOCK) data.fill(((i / BLOCK) * 3 + 1) & 0xff, i, i + BLOCK);
  const moved = tempPath('quiet-miss');
  const fd = fs.openSync(moved, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_DIRECT, 0o600);
  try {
    fs.ftruncateSync(fd, HOLE);
    assert.equal(fs.writeSync(fd, data, 0, DATA, HOLE), DATA);
    fs.fdatasyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  const file = await open(moved, 'r', { queue });
  t.after(async () => {
    await file.close();
    await queue.close();
    fs.rmSync(moved, { force: true });
  });
  if (file.engine !== 'aio') return t.skip(`open() chose ${file.engine} for this file, not aio`);

  // Reads of a hole are zero-filled inside io_submit: the file goes quiet.
  const buf = allocAligned(BLOCK);
  for (let i = 0; i < 200; i++) assert.equal(await file.read(buf, (i % (HOLE / BLOCK)) * BLOCK), BLOCK);
  const quiet = queue.stats().submittedQuiet;
  if (quiet === 0) return t.skip('reads of holes did not complete inside io_submit on this file system');
  // A read the device has to serve is usually still running when io_submit
  // returns; a fast device (the host's cache behind a virtual disk) can
  // finish one inside the call, so try pieces of the data until one misses:
  // hole reads after it then stay loud.
  const piece = allocAligned(DATA / 16);
  let missed = false;
  for (let attempt = 0; attempt < 16 && !missed; attempt++) {
    const at = HOLE + attempt * piece.length;
    assert.equal(await file.read(piece, at), piece.length);
    assert.ok(piece.equals(data.subarray(attempt * piece.length, (attempt + 1) * piece.length)), `the data read at ${at} has the data`);
    const before = queue.stats().submittedQuiet;
    for (let i = 0; i < 8; i++) assert.equal(await file.read(buf, i * BLOCK), BLOCK);
    missed = queue.stats().submittedQuiet === before;
  }
  if (!missed) return t.skip('every read of the device completed inside io_submit here: the miss could not be produced');
  const afterMiss = queue.stats().submittedQuiet;
  for (let i = 0; i < 200; i++) assert.equal(await file.read(buf, (i % (HOLE / BLOCK)) * BLOCK), BLOCK);
  assert.equal(queue.stats().submittedQuiet, afterMiss, 'the file is never quiet again');
  assert.equal(queue.stats().inFlight, 0);
});
