/**
 * The aio engine submits reads and writes with RWF_NOWAIT, so that the
 * kernel answers EAGAIN where io_submit would sleep, and runs those requests
 * again on the thread pool: the caller sees one promise, with the right
 * result. Against the real kernel: extending O_DIRECT writes on ext4/xfs
 * (block allocation), DIO over dirty page-cache pages, a file system that
 * refuses RWF_NOWAIT (tmpfs), the caller's own NOWAIT, abort and close during
 * a fallback, and a frozen file system (as root).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { AioError, IoQueue, RWF, allocAligned, open } from '../src/index.js';
import { FS_MAGIC, fsMagic } from '../src/sysinfo/fs-magic.js';
import { directOpenError } from '../src/sysinfo/o-direct.js';
import { attachLoop, diskDir, loopSkipReason, tempPath } from './helpers/disk.js';

const BLOCK = 4096;

/** Why extending O_DIRECT writes in the disk folder cannot be expected to answer EAGAIN under NOWAIT. */
function allocatingSkip(): string | undefined {
  const { dir, skip } = diskDir();
  if (skip) return skip;
  const name = FS_MAGIC.get(fsMagic(dir!) ?? -1);
  // ext4 and XFS refuse an allocating direct write under IOCB_NOWAIT; others may simply do it.
  return name === 'ext4' || name === 'xfs' ? undefined : `the test folder ${dir} is on ${name ?? 'an unknown file system'}, not ext4 or xfs`;
}

function stamp(i: number): Buffer {
  const b = allocAligned(BLOCK);
  b.fill(i & 0xff);
  b.writeUInt32LE(0x5eed0000 + i, 0);
  return b;
}

/** A Linux AIO queue, whatever LINUX_AIO_ENGINE says: the retry is that engine's (io_uring needs none). */
function queueFor(t: { after(fn: () => Promise<void>): void }): IoQueue {
  const q = new IoQueue({ depth: 32, engine: 'aio' });
  t.after(() => q.close());
  return q;
}

test('extending writes on a file opened w+ without size are answered through the fallback, and the data lands', { skip: allocatingSkip() }, async (t) => {
  const q = queueFor(t);
  const p = tempPath('extend');
  t.after(() => fs.rmSync(p, { force: true }));
  const file = await open(p, 'w+', { queue: q });
  const n = 48;
  const results = await Promise.all(Array.from({ length: n }, (_, i) => file.write(stamp(i), i * BLOCK)));
  assert.deepEqual(results, Array(n).fill(BLOCK));
  const s = q.stats();
  assert.ok(s.fellBack >= 1, `extending writes should fall back, stats ${JSON.stringify(s)}`);
  assert.ok(s.fellBack <= n);
  // Overwrites of the blocks now allocated need no allocation: no new fallbacks.
  const before = q.stats().fellBack;
  await Promise.all(Array.from({ length: n }, (_, i) => file.write(stamp(i + 1000), i * BLOCK)));
  assert.equal(q.stats().fellBack, before, 'overwrites of allocated blocks stay on the kernel path');
  await file.close();
  const back = fs.readFileSync(p);
  assert.equal(back.length, n * BLOCK);
  for (let i = 0; i < n; i++) assert.ok(back.subarray(i * BLOCK, (i + 1) * BLOCK).equals(stamp(i + 1000)), `block ${i}`);
});

test('strace shows the NOWAIT submit and the blocking retry on a pool thread, with the fdatasync a DSYNC write asks for', { skip: allocatingSkip() }, (t) => {
  if (spawnSync('strace', ['-V']).error) return t.skip('strace is not installed');
  const p = tempPath('strace');
  t.after(() => fs.rmSync(p, { force: true }));
  const index = new URL('../src/index.js', import.meta.url).href;
  const script = `
    const { open, allocAligned, RWF, IoQueue } = await import(${JSON.stringify(index)});
    const f = await open(${JSON.stringify(p)}, 'w+', { engine: 'aio' });
    const b = allocAligned(4096, 4096).fill(7);
    const n = await f.write(b, 0, { flags: RWF.DSYNC });
    console.log(JSON.stringify({ n, fellBack: IoQueue.default('aio').stats().fellBack }));
    await f.close();`;
  const r = spawnSync('strace', ['-f', '-e', 'trace=io_submit,pwrite64,fdatasync', process.execPath, '--input-type=module', '-e', script],
    { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout.trim()), { n: BLOCK, fellBack: 1 });
  assert.match(r.stderr, /io_submit\(.*RWF_DSYNC\|RWF_NOWAIT|io_submit\(.*RWF_NOWAIT\|RWF_DSYNC/, 'the first try carries RWF_NOWAIT beside the caller\'s DSYNC');
  assert.match(r.stderr, /\[pid\s+\d+\] pwrite64\(\d+, /, 'the retry is a pwrite64 on a pool thread');
  assert.match(r.stderr, /fdatasync\(\d+/, 'DSYNC is kept on the retry as an fdatasync');
  assert.equal(fs.readFileSync(p).subarray(0, BLOCK).every((x) => x === 7), true);
});

test('the caller\'s own RWF.NOWAIT still gets EAGAIN back, with no fallback', { skip: allocatingSkip() }, async (t) => {
  const q = queueFor(t);
  const p = tempPath('caller-nowait');
  t.after(() => fs.rmSync(p, { force: true }));
  const file = await open(p, 'w+', { queue: q });
  await assert.rejects(file.write(stamp(1), 0, { flags: RWF.NOWAIT }), (err: unknown) => err instanceof AioError && err.code === 'EAGAIN');
  assert.equal(q.stats().fellBack, 0);
  await file.close();
  assert.equal(fs.statSync(p).size, 0, 'nothing was written');
});

test('direct reads and writes over dirty page-cache pages fall back and see the buffered data (model check)', { skip: allocatingSkip() }, async (t) => {
  const q = queueFor(t);
  const blocks = 128;
  const p = tempPath('dirty');
  t.after(() => fs.rmSync(p, { force: true }));
  const file = await open(p, 'w+', { queue: q, size: blocks * BLOCK });
  const model: number[] = Array(blocks).fill(-1); // -1: zeros
  const buffered = fs.openSync(p, 'r+');
  t.after(() => fs.closeSync(buffered));
  let seed = 12345;
  const rand = (n: number): number => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) % n;
  let stampNo = 0;
  for (let round = 0; round < 30; round++) {
    // Dirty a few blocks through the page cache (no fsync): NOWAIT direct I/O over them answers EAGAIN.
    for (let k = 0; k < 4; k++) {
      const b = rand(blocks);
      const v = ++stampNo;
      fs.writeSync(buffered, stamp(v), 0, BLOCK, b * BLOCK);
      model[b] = v;
    }
    // A batch of direct requests on distinct blocks, some of them dirty.
    const chosen = new Set<number>();
    while (chosen.size < 16) chosen.add(rand(blocks));
    await Promise.all([...chosen].map(async (b) => {
      if (rand(2) === 0) {
        const buf = allocAligned(BLOCK);
        assert.equal(await file.read(buf, b * BLOCK), BLOCK);
        const want = model[b] === -1 ? Buffer.alloc(BLOCK) : stamp(model[b]!);
        assert.ok(buf.equals(want), `block ${b} in round ${round}`);
      } else {
        const v = ++stampNo;
        assert.equal(await file.write(stamp(v), b * BLOCK), BLOCK);
        model[b] = v;
      }
    }));
  }
  assert.ok(q.stats().fellBack > 0, 'some requests met dirty pages and fell back');
  await file.close();
  const back = fs.readFileSync(p);
  for (let b = 0; b < blocks; b++) {
    const want = model[b] === -1 ? Buffer.alloc(BLOCK) : stamp(model[b]!);
    assert.ok(back.subarray(b * BLOCK, (b + 1) * BLOCK).equals(want), `final block ${b}`);
  }
});

test('a file system that refuses RWF_NOWAIT (tmpfs) is learnt once per file; its requests go without it', async (t) => {
  const shm = '/dev/shm';
  if (!fs.existsSync(shm) || directOpenError(shm) !== null) return t.skip('/dev/shm does not accept O_DIRECT here (Linux < 6.6, or no tmpfs)');
  const q = queueFor(t);
  const p = path.join(shm, `linux-aio-nowait-${process.pid}`);
  t.after(() => fs.rmSync(p, { force: true }));
  const file = await open(p, 'w+', { queue: q });
  const n = 16;
  await Promise.all(Array.from({ length: n }, (_, i) => file.write(stamp(i), i * BLOCK)));
  const first = q.stats();
  // Later batches cost one io_submit each: the refusal is not met again.
  await Promise.all(Array.from({ length: n }, (_, i) => file.write(stamp(i + 100), i * BLOCK)));
  const second = q.stats();
  assert.equal(second.submitCalls - first.submitCalls, 1);
  assert.equal(second.fellBack, 0);
  await file.close();
  const back = fs.readFileSync(p);
  for (let i = 0; i < n; i++) assert.ok(back.subarray(i * BLOCK, (i + 1) * BLOCK).equals(stamp(i + 100)));
});

test('an abort while the retry runs on the pool rejects at once; close() still waits for the pool', { skip: allocatingSkip() }, async (t) => {
  const q = queueFor(t);
  const p = tempPath('abort');
  t.after(() => fs.rmSync(p, { force: true }));
  const file = await open(p, 'w+', { queue: q });
  const ac = new AbortController();
  const big = allocAligned(32 << 20).fill(3);
  const write = file.write(big, 0, { signal: ac.signal });
  // The NOWAIT answer comes inside the submit of the next tick; abort after it.
  await new Promise((r) => setImmediate(r));
  assert.equal(q.stats().fellBack, 1);
  ac.abort();
  await assert.rejects(write, { name: 'AbortError' });
  assert.equal(file.inFlight, 1, 'the pool still holds the buffer');
  await file.close();
  assert.equal(fs.statSync(p).size, 32 << 20, 'the write the pool had started completed');
});

const freezeSkip = diskDir().skip ?? loopSkipReason() ??
  (spawnSync('fsfreeze', ['--version']).error ? 'fsfreeze is not installed' : undefined) ??
  (spawnSync('mkfs.ext4', ['-V']).error ? 'mkfs.ext4 is not installed' : undefined);

test('fsfreeze (root): reads go on without stalling the event loop; a write made during the freeze lands after the thaw', { skip: freezeSkip, timeout: 60_000 }, async (t) => {
  const loop = attachLoop(64 << 20);
  t.after(() => loop.detach());
  execFileSync('mkfs.ext4', ['-q', loop.device]);
  const mnt = fs.mkdtempSync(path.join(os.tmpdir(), 'linux-aio-freeze-'));
  execFileSync('mount', [loop.device, mnt]);
  const thaw = (): void => void spawnSync('fsfreeze', ['-u', mnt]);
  process.on('exit', thaw);
  t.after(() => {
    thaw();
    process.off('exit', thaw);
    spawnSync('umount', [mnt]);
    fs.rmSync(mnt, { recursive: true, force: true });
  });
  const q = queueFor(t);
  const file = await open(path.join(mnt, 'data'), 'w+', { queue: q, size: 1 << 20 });
  await file.write(stamp(1), 0);
  await file.fsync();
  execFileSync('fsfreeze', ['-f', mnt]);
  try {
    let ticks = 0;
    const iv = setInterval(() => ticks++, 5);
    const buf = allocAligned(BLOCK);
    const until = performance.now() + 300;
    let reads = 0;
    while (performance.now() < until) {
      assert.equal(await file.read(buf, 0), BLOCK);
      reads++;
      await new Promise((r) => setImmediate(r));
    }
    clearInterval(iv);
    assert.ok(buf.equals(stamp(1)));
    assert.ok(reads > 10 && ticks > 10, `reads ${reads}, timer ticks ${ticks} during a frozen 300 ms`);
  } finally {
    // Linux AIO takes the file system's freeze protection inside io_submit
    // for every write, RWF_NOWAIT or not (fs/aio.c aio_write), so a write
    // during a freeze waits in io_submit for the thaw; a child thaws it.
    spawn('sh', ['-c', `sleep 0.3; fsfreeze -u '${mnt}'`], { stdio: 'ignore' });
  }
  assert.equal(await file.write(stamp(2), BLOCK), BLOCK);
  await file.close();
  const back = fs.readFileSync(path.join(mnt, 'data'));
  assert.ok(back.subarray(BLOCK, 2 * BLOCK).equals(stamp(2)), 'the write landed after the thaw');
});
