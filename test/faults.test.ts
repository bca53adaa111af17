/**
 * Real kernel faults, as root on loop devices:
 *  - ENOSPC: a 16 MiB ext4 file system is filled through linux-aio; the
 *    write that runs out of space rejects with AioError ENOSPC, and every
 *    byte written before it reads back intact, before and after a remount.
 *  - EIO: a loop device whose backing file is truncated underneath it fails
 *    reads past the new end with AioError EIO (this kernel's loop driver
 *    ends such requests with BLK_STS_IOERR, with and without its direct-I/O
 *    mode); reads before the cut still return the data, also when they are
 *    in the same io_submit as the failing ones.
 * Skipped, with the reason printed, where there is no root, no loop
 * device, no mkfs.ext4 or no mount.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { AioError, IoQueue, allocAligned, open, type AioFile } from '../src/index.js';
import { attachLoop, diskDir, loopSkipReason } from './helpers/disk.js';
import { KERNEL_ENGINE, opSyscall } from './helpers/engine.js';

function toolMissing(tool: string, args: string[]): string | undefined {
  try {
    execFileSync(tool, args, { stdio: 'ignore' });
    return undefined;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? `${tool} is not installed` : undefined;
  }
}

const loopSkip = diskDir().skip ?? loopSkipReason();
const ext4Skip = loopSkip ?? toolMissing('mkfs.ext4', ['-V']) ?? toolMissing('mount', ['--version']);

const SECTOR = 512;
/** Stamps each sector with its chunk and position, so a misplaced or stale sector shows. */
function chunkData(index: number, size: number): Buffer {
  const b = allocAligned(size);
  for (let s = 0; s < size; s += SECTOR) {
    b.fill((index * 13 + s / SECTOR) & 0xff, s, s + SECTOR);
    b.writeUInt32LE(0xe05c0000 + index, s);
    b.writeUInt32LE(s, s + 4);
  }
  return b;
}

function mount(device: string, dir: string): void {
  execFileSync('mount', ['-t', 'ext4', device, dir], { stdio: 'pipe' });
}
function unmount(dir: string): void {
  try {
    execFileSync('umount', [dir], { stdio: 'pipe' });
  } catch {
    execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
  }
}

test('ENOSPC: filling a 16 MiB ext4 through linux-aio rejects with AioError ENOSPC; what was written reads back', { skip: ext4Skip, timeout: 120_000 }, async (t) => {
  const loop = attachLoop(16 << 20);
  const mnt = fs.mkdtempSync(path.join(os.tmpdir(), 'linux-aio-enospc-'));
  let mounted = false;
  let f: AioFile | undefined;
  try {
    execFileSync('mkfs.ext4', ['-q', '-F', '-m', '0', loop.device], { stdio: 'pipe' });
    mount(loop.device, mnt);
    mounted = true;
    const file = path.join(mnt, 'fill');
    f = await open(file, 'w+');
    assert.equal(f.engine, KERNEL_ENGINE);
    const CHUNK = 256 << 10;
    const written = new Map<number, number>(); // chunk index → bytes the kernel said it wrote
    let enospc: AioError | undefined;
    const others: unknown[] = [];
    // Four writes in flight at a time, in order, until the space runs out.
    let next = 0;
    const worker = async (): Promise<void> => {
      while (!enospc && next < 1024) {
        const i = next++;
        try {
          const n = await f!.write(chunkData(i, CHUNK), i * CHUNK);
          written.set(i, n);
        } catch (err) {
          if (err instanceof AioError && err.code === 'ENOSPC') enospc ??= err;
          else others.push(err);
        }
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
    assert.deepEqual(others, [], 'errors other than ENOSPC');
    assert.ok(enospc, 'the file system never ran out of space');
    assert.equal(enospc.errno, -28);
    // On Linux AIO an extending write on ext4 is answered EAGAIN under the
    // queue's RWF_NOWAIT and retried on the thread pool, where pwrite(2)
    // meets the full disk; one that needed no allocation meets it inside
    // io_submit. io_uring allocates in its own workers: its completion says so.
    if (KERNEL_ENGINE === 'uring') assert.equal(enospc.syscall, opSyscall('pwrite'));
    else assert.match(enospc.syscall, /^(io_submit\(pwrite\)|write)$/);
    assert.match(enospc.message, /^ENOSPC: no space left on device/);
    const total = [...written.values()].reduce((a, b) => a + b, 0);
    t.diagnostic(`AioError ${enospc.code} (${enospc.errno}) from ${enospc.syscall} after ${written.size} writes, ${(total / 1048576).toFixed(2)} MiB on a 16 MiB ext4; short writes: ${[...written.values()].filter((n) => n < CHUNK).length}`);
    assert.ok(total > 8 << 20, `only ${total} bytes fit`);
    for (const n of written.values()) assert.equal(n % SECTOR, 0);

    // Everything written before reads back intact: through linux-aio now...
    const check = (i: number, n: number, got: Buffer): void => {
      if (!got.subarray(0, n).equals(chunkData(i, CHUNK).subarray(0, n))) assert.fail(`chunk ${i} (${n} bytes) reads back wrong`);
    };
    for (const [i, n] of written) {
      const buf = allocAligned(CHUNK);
      const got = await f.read(buf, i * CHUNK);
      assert.ok(got >= n, `chunk ${i}: read ${got} of ${n} bytes written`);
      check(i, n, buf);
    }
    await f.fsync();
    await f.close();
    f = undefined;
    // ...and from the device after a remount, through node:fs.
    unmount(mnt);
    mounted = false;
    mount(loop.device, mnt);
    mounted = true;
    const disk = fs.readFileSync(file);
    for (const [i, n] of written) check(i, n, disk.subarray(i * CHUNK, i * CHUNK + n) as Buffer);
  } finally {
    if (f) await f.close().catch(() => {});
    try {
      if (mounted) unmount(mnt);
    } finally {
      // Even when both umount attempts failed: detach (lazily, if still busy) and remove.
      fs.rmSync(mnt, { recursive: true, force: true });
      loop.detach();
    }
  }
});

for (const directIo of [true, false]) {
  test(`EIO: reads past the end of a loop device's truncated backing file reject with AioError EIO (loop direct I/O ${directIo ? 'on' : 'off'})`, { skip: loopSkip, timeout: 60_000 }, async (t) => {
    const SIZE = 16 << 20;
    const CUT = 8 << 20;
    const loop = attachLoop(SIZE, { directIo });
    let f: AioFile | undefined;
    try {
      f = await open(loop.device, 'r+');
      assert.equal(f.isBlockDevice, true);
      const MiB = 1 << 20;
      for (let i = 0; i < SIZE / MiB; i++) assert.equal(await f.write(chunkData(i, MiB), i * MiB), MiB);
      await f.fsync();
      // Cut the backing file in half under the device (its size stays 16 MiB).
      fs.truncateSync(loop.backing, CUT);

      const readAt = async (pos: number, len: number): Promise<number | AioError> => {
        try {
          const buf = allocAligned(len);
          const n = await f!.read(buf, pos);
          const from = Math.floor(pos / MiB);
          if (!buf.subarray(0, n).equals(chunkData(from, MiB).subarray(pos % MiB, pos % MiB + n))) assert.fail(`read at ${pos} holds wrong bytes`);
          return n;
        } catch (err) {
          if (err instanceof AioError) return err;
          throw err;
        }
      };
      const before = await readAt(4 * MiB, 64 << 10);
      const past = await readAt(12 * MiB, 64 << 10);
      const straddling = await readAt(CUT - (32 << 10), 64 << 10);
      const atCut = await readAt(CUT, SECTOR);
      const show = (r: number | AioError): string => (typeof r === 'number' ? `${r} bytes` : `AioError ${r.code} (${r.syscall})`);
      t.diagnostic(`before the cut: ${show(before)}; past it: ${show(past)}; straddling it: ${show(straddling)}; at it: ${show(atCut)}`);

      assert.equal(before, 64 << 10, 'a read before the cut fails');
      for (const r of [past, straddling, atCut]) {
        assert.ok(r instanceof AioError, `expected AioError EIO, got ${show(r)}`);
        assert.equal(r.code, 'EIO');
        assert.equal(r.errno, -5);
        assert.equal(r.syscall, opSyscall('pread'));
      }
      // The file (not the process) is what broke: the queue goes on working.
      assert.equal(await readAt(0, 4096), 4096);

      // The same in one batch: reads that fail beside reads that succeed, in
      // one io_submit; each gets its own outcome, and the good ones their data.
      const queue = IoQueue.default(); // the queue open() gave the device
      const callsBefore = queue.stats().submitCalls;
      const mixed = await Promise.all([
        readAt(0, 64 << 10), readAt(12 * MiB, 64 << 10), readAt(2 * MiB, 4096), readAt(CUT, SECTOR),
        readAt(CUT - MiB, 128 << 10), readAt(SIZE - 4096, 4096), readAt(7 * MiB, 64 << 10),
      ]);
      t.diagnostic(`one batch: ${mixed.map(show).join('; ')}`);
      assert.equal(queue.stats().submitCalls - callsBefore, 1, 'the batch went to the kernel in one io_submit');
      assert.deepEqual(mixed.map((r) => (typeof r === 'number' ? r : r.code)),
        [64 << 10, 'EIO', 4096, 'EIO', 128 << 10, 'EIO', 64 << 10]);
    } finally {
      if (f) await f.close().catch(() => {});
      loop.detach();
    }
  });
}
