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
