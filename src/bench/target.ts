/**
 * What the bench runs against: a file or block device given with
 * `--filename`, or a temporary file on a disk file system (never tmpfs,
 * where O_DIRECT is a memory copy), created, filled with random data (reads
 * of unwritten extents never reach the device) and removed afterwards.
 * @internal
 * @module
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { open } from '../file/aio-file.js';
import { fileFacts } from '../core/file-facts.js';
import { allocAligned } from '../core/memory.js';
import { isTmpfs } from '../sysinfo/fs-magic.js';
import { isMountedDevice } from '../sysinfo/mounts.js';
import { deviceFolder, directOpenError } from '../sysinfo/o-direct.js';
import { DEFAULT_SIZE, type BenchOptions } from './options.js';

const FILL_CHUNK = 1 << 20;
const FILL_DEPTH = 4;

/** The target of a bench run. */
export interface Target {
  path: string;
  kind: 'file' | 'block device';
  /** Bytes in use: a multiple of bs. */
  size: number;
  /** Made for this run and removed by cleanup(). */
  temporary: boolean;
  /** Removes a temporary target; idempotent, never throws. */
  cleanup(): void;
}

/** A failure to set up the target: reported on one line, exit code 1. */
export class TargetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TargetError';
  }
}

/** Where the temporary file may go, in the order tried: $TMPDIR (else /tmp), /var/tmp, the current folder. */
export function tempDirCandidates(): string[] {
  return [...new Set([process.env.TMPDIR, os.tmpdir(), '/var/tmp', process.cwd()].filter((d): d is string => !!d))];
}

/** The folder for the temporary file: the first candidate on a disk file system that takes O_DIRECT. */
export function defaultDirectory(): string {
  const candidates = tempDirCandidates();
  const dir = deviceFolder(candidates);
  if (dir !== null) return dir;
  throw new TargetError(`no folder on a disk file system that takes O_DIRECT among ${candidates.join(', ')} (tmpfs is left out): give --directory or --filename`);
}

/** How far filling the target is: bytes written of the bytes to write. */
export type FillProgress = (done: number, total: number) => void;

/** /dev/shm, when it is tmpfs and takes O_DIRECT (Linux 6.6+). */
export function tmpfsDirectory(): string {
  const dir = '/dev/shm';
  if (!fs.existsSync(dir) || !isTmpfs(dir)) throw new TargetError(`--tmpfs: ${dir} is not a tmpfs here`);
  if (directOpenError(dir) !== null) throw new TargetError(`--tmpfs: tmpfs refuses O_DIRECT on this kernel (Linux ${os.release()}; it takes it from 6.6)`);
  return dir;
}

/** Writes random data over [from, to) of `file` with O_DIRECT, `FILL_DEPTH` MiB at a time. */
async function fill(file: string, from: number, to: number, create: boolean, progress?: FillProgress): Promise<void> {
  const f = await open(file, create ? 'w+' : 'r+', { size: to });
  try {
    const bufs = Array.from({ length: FILL_DEPTH }, () => allocAligned(FILL_CHUNK, Math.max(4096, f.alignment.memory)));
    let next = from - (from % FILL_CHUNK);
    const start = next;
    let done = 0;
    const lane = async (buf: Buffer): Promise<void> => {
      while (next < to) {
        const at = next;
        next += FILL_CHUNK;
        const len = Math.min(FILL_CHUNK, to - at);
        crypto.randomFillSync(buf, 0, len);
        // A tail shorter than the alignment is left as it is (zero).
        const aligned = len - (len % f.alignment.offset);
        if (aligned > 0) await f.write(buf.subarray(0, aligned), at);
        done += len;
        progress?.(done, to - start);
      }
    };
    await Promise.all(bufs.map(lane));
    await f.fdatasync();
  } finally {
    await f.close();
  }
}

function roundSize(bytes: number, bs: number, what: string): number {
  const size = bytes - (bytes % bs);
  if (size < bs) throw new TargetError(`${what} is ${bytes} bytes, smaller than --bs ${bs}`);
  return size;
}

/** Sets up the target the options ask for; `log` gets a line about anything slow, `progress` the filling. */
export async function prepareTarget(opts: BenchOptions, writes: boolean, log: (line: string) => void,
  progress?: FillProgress): Promise<Target> {
  const noop = (): void => {};
  if (opts.filename !== undefined) {
    const file = opts.filename;
    let st: fs.Stats | undefined;
    try {
      st = fs.statSync(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (!st) {
      const size = roundSize(opts.size ?? DEFAULT_SIZE, opts.bs, '--size');
      log(`creating ${file} (${size} bytes of random data)`);
      await fill(file, 0, size, true, progress);
      return { path: file, kind: 'file', size, temporary: false, cleanup: noop };
    }
    if (st.isBlockDevice()) {
      if (writes && isMountedDevice(st.rdev)) throw new TargetError(`${file} is mounted: bench will not write to it`);
      const fd = fs.openSync(file, fs.constants.O_RDONLY);
      let devSize: number;
      try {
        devSize = fileFacts(fd).size;
      } finally {
        fs.closeSync(fd);
      }
      const size = roundSize(Math.min(opts.size ?? devSize, devSize), opts.bs, `${file}`);
      return { path: file, kind: 'block device', size, temporary: false, cleanup: noop };
    }
    if (!st.isFile()) throw new TargetError(`${file} is neither a regular file nor a block device`);
    if (opts.size !== undefined && st.size < opts.size) {
      log(`extending ${file} from ${st.size} to ${opts.size} bytes of random data`);
      await fill(file, st.size, opts.size, false, progress);
      return { path: file, kind: 'file', size: roundSize(opts.size, opts.bs, '--size'), temporary: false, cleanup: noop };
    }
    const size = roundSize(opts.size ?? st.size, opts.bs, file);
    return { path: file, kind: 'file', size, temporary: false, cleanup: noop };
  }

  const base = opts.tmpfs ? tmpfsDirectory() : opts.directory ?? defaultDirectory();
  if (opts.directory !== undefined && isTmpfs(base)) {
    log(`note: ${base} is tmpfs: O_DIRECT there is a memory copy, not device I/O`);
  }
  const size = roundSize(opts.size ?? DEFAULT_SIZE, opts.bs, '--size');
  try {
    const sfs = fs.statfsSync(base);
    const free = Number(sfs.bavail) * Number(sfs.bsize);
    if (free < size + (64 << 20)) {
      throw new TargetError(`${base} has ${Math.floor(free / 2 ** 20)} MiB free, too little for a ${Math.ceil(size / 2 ** 20)} MiB file: give a smaller --size or another --directory`);
    }
  } catch (err) {
    if (err instanceof TargetError) throw err;
    throw new TargetError(`${base}: ${(err as Error).message}`);
  }
  const dir = fs.mkdtempSync(path.join(base, 'linux-aio-bench-'));
  const cleanup = (): void => {
    try {
      fs.rmSync(dir, { recursive: true, force: true });
    } catch {
      // nothing more to do
    }
  };
  const file = path.join(dir, 'target');
  try {
    if (size >= 256 << 20) log(`filling a ${Math.round(size / 2 ** 20)} MiB temporary file in ${base} with random data`);
    await fill(file, 0, size, true, progress);
  } catch (err) {
    cleanup();
    throw err;
  }
  return { path: file, kind: 'file', size, temporary: true, cleanup };
}
