/**
 * Real files for the tests: a temporary folder on a disk file system that
 * accepts O_DIRECT (never tmpfs, which only copies memory), and loop devices
 * when running as root. Anything that cannot be had here yields a skip
 * reason, which the tests print through node:test's skip.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { deviceFolder } from '../../src/sysinfo/o-direct.js';
import { allocAligned } from '../../src/core/memory.js';
import { open, type AioFile, type OpenOptions } from '../../src/file/aio-file.js';

const O_DIRECT = fs.constants.O_DIRECT;

let cached: { dir?: string; skip?: string } | undefined;

/** A folder on a disk file system with O_DIRECT, or why there is none. */
export function diskDir(): { dir?: string; skip?: string } {
  if (cached) return cached;
  const candidates = [process.env.LINUX_AIO_TEST_DIR, os.tmpdir(), '/var/tmp', process.cwd()].filter(
    (d): d is string => !!d,
  );
  const base = deviceFolder(candidates);
  if (base !== null) {
    cached = { dir: fs.mkdtempSync(path.join(base, 'linux-aio-test-')) };
    process.on('exit', () => fs.rmSync(cached!.dir!, { recursive: true, force: true }));
    return cached;
  }
  cached = { skip: `no disk file system with O_DIRECT among ${candidates.join(', ')} (tmpfs is excluded)` };
  return cached;
}

let counter = 0;
/** A fresh path in the disk folder. */
export function tempPath(name = 'file'): string {
  const { dir } = diskDir();
  if (!dir) throw new Error('diskDir() has no folder: check skip first');
  return path.join(dir, `${name}-${process.pid}-${counter++}`);
}

/** Opens a new O_DIRECT file of `size` bytes (zero-filled), read-write. */
export function openDirect(size = 0, name?: string): { fd: number; path: string } {
  const p = tempPath(name);
  const fd = fs.openSync(p, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_TRUNC | O_DIRECT, 0o600);
  if (size > 0) fs.ftruncateSync(fd, size);
  return { fd, path: p };
}

/** Why loop devices cannot be used here, or undefined when they can. */
export function loopSkipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'loop devices need root';
  if (!fs.existsSync('/dev/loop-control')) return 'no /dev/loop-control on this machine';
  try {
    execFileSync('losetup', ['--version'], { stdio: 'ignore' });
  } catch {
    return 'losetup is not installed';
  }
  return undefined;
}

/** Attaches a loop device with direct I/O over a new backing file; detach() always cleans up. */
export function attachLoop(sizeBytes: number, opts: { sectorSize?: number; directIo?: boolean } = {}): { device: string; backing: string; detach: () => void } {
  const backing = tempPath('loop-backing');
  fs.writeFileSync(backing, '');
  fs.truncateSync(backing, sizeBytes);
  const args = ['--find', '--show'];
  if (opts.sectorSize) args.push('--sector-size', String(opts.sectorSize));
  if (opts.directIo !== undefined) args.push(`--direct-io=${opts.directIo ? 'on' : 'off'}`);
  args.push(backing);
  const device = execFileSync('losetup', args, { encoding: 'utf8' }).trim();
  return {
    device,
    backing,
    detach: () => {
      try {
        execFileSync('losetup', ['--detach', device], { stdio: 'ignore' });
      } finally {
        fs.rmSync(backing, { force: true });
      }
    },
  };
}

/**
 * A new O_DIRECT file for one test, closed and removed after it; undefined
 * (with the test skipped, its reason printed) where there is no disk folder.
 */
export function directFile(t: { skip(reason: string): void; after(fn: () => void): void }, size = 0, name?: string): { fd: number; path: string } | undefined {
  const { skip } = diskDir();
  if (skip) {
    t.skip(skip);
    return undefined;
  }
  const file = openDirect(size, name);
  t.after(() => {
    fs.closeSync(file.fd);
    fs.rmSync(file.path, { force: true });
  });
  return file;
}

/**
 * Writes `data` to a new file at `p` without leaving it in the page cache:
 * direct I/O over cached pages is answered EAGAIN under the aio engine's
 * RWF_NOWAIT and retried on the thread pool, and the fixtures are for the
 * kernel path. The whole 4 KiB blocks go through O_DIRECT, a tail through
 * the cache, written back.
 */
export function writeUncached(p: string, data: Buffer): void {
  const whole = data.length - (data.length % 4096);
  const fd = fs.openSync(p, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_TRUNC | O_DIRECT, 0o600);
  try {
    if (whole > 0) {
      const view = allocAligned(whole);
      data.copy(view, 0, 0, whole);
      fs.writeSync(fd, view, 0, whole, 0);
    }
  } finally {
    fs.closeSync(fd);
  }
  if (whole < data.length) {
    const tail = fs.openSync(p, 'r+');
    try {
      fs.writeSync(tail, data, whole, data.length - whole, whole);
      fs.fdatasyncSync(tail);
    } finally {
      fs.closeSync(tail);
    }
  }
}

/**
 * A new file of `size` random bytes (written with node:fs) for one test,
 * removed after it; undefined (with the test skipped, its reason printed)
 * where there is no disk folder.
 */
export function randomFile(t: { skip(reason: string): void; after(fn: () => void): void }, size: number, name?: string): { path: string; data: Buffer } | undefined {
  const { skip } = diskDir();
  if (skip) {
    t.skip(skip);
    return undefined;
  }
  const path = tempPath(name);
  const data = randomFillSync(Buffer.alloc(size));
  writeUncached(path, data);
  t.after(() => fs.rmSync(path, { force: true }));
  return { path, data };
}

/**
 * A path for a new file of one test in the disk folder, removed after it;
 * undefined (with the test skipped, its reason printed) where there is none.
 */
export function scratchPath(t: { skip(reason: string): void; after(fn: () => void): void }, name?: string): string | undefined {
  const { skip } = diskDir();
  if (skip) {
    t.skip(skip);
    return undefined;
  }
  const p = tempPath(name);
  t.after(() => fs.rmSync(p, { force: true }));
  return p;
}

/**
 * A loop device of `size` bytes opened with open(device, 'r+', `options`);
 * closed, then detached, after the test. Skips (and returns undefined) where
 * there are no loop devices.
 */
export async function openLoop(
  t: { skip(reason: string): void; after(fn: () => Promise<void>): void },
  size: number, options: OpenOptions = {}, loopOptions: { sectorSize?: number } = {},
): Promise<{ file: AioFile; device: string; backing: string } | undefined> {
  const why = loopSkipReason() ?? diskDir().skip;
  if (why) {
    t.skip(why);
    return undefined;
  }
  const loop = attachLoop(size, loopOptions);
  let file: AioFile | undefined;
  t.after(async () => {
    try {
      await file?.close();
    } finally {
      loop.detach();
    }
  });
  file = await open(loop.device, 'r+', options);
  return { file, device: loop.device, backing: loop.backing };
}
