/**
 * The operations that change a file's size or its allocation: ftruncate and
 * fallocate. They run on libuv's thread pool (they walk the file system's
 * extent maps), but for fallocate on the uring engine, which carries it as a
 * request of the ring (its workers do the walk); both hold the file open
 * until they are done.
 * @module
 */
import fs from 'node:fs';
import { promisify } from 'node:util';
import { AioError } from '../core/errors.js';
import { fallocate } from '../core/file-facts.js';
import { argRangeError, argTypeError, argValueError, checkCount, checkOffset } from '../core/validate.js';
import { fileError, onFile } from './file-error.js';
import type { AioFile } from './aio-file.js';
import { holdOpen } from './file-hold.js';

const ftruncateAsync = promisify(fs.ftruncate);

/** What {@link AioFile.allocate} does to the range. */
export type AllocateMode = 'default' | 'keepSize' | 'punchHole' | 'zeroRange';

/** Options of {@link AioFile.allocate}. */
export interface AllocateOptions {
  /**
   * - `'default'`: allocate the blocks, extending the file if the range ends past it;
   * - `'keepSize'`: allocate the blocks but leave the size alone (FALLOC_FL_KEEP_SIZE);
   * - `'punchHole'`: free the blocks, the range reads as zeros, the size stays (FALLOC_FL_PUNCH_HOLE);
   * - `'zeroRange'`: make the range read as zeros, blocks kept allocated, extending the file like `'default'` (FALLOC_FL_ZERO_RANGE).
   */
  mode?: AllocateMode;
}

const FALLOC_FL_KEEP_SIZE = 0x01;
const FALLOC_FL_PUNCH_HOLE = 0x02;
const FALLOC_FL_ZERO_RANGE = 0x10;

const MODES: Record<AllocateMode, number> = {
  default: 0,
  keepSize: FALLOC_FL_KEEP_SIZE,
  // The kernel takes a hole only with KEEP_SIZE: a hole never changes the size.
  punchHole: FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
  zeroRange: FALLOC_FL_ZERO_RANGE,
};

/** fallocate(2) through the ring or on the thread pool; see {@link AioFile.allocate}. */
export async function allocate(file: AioFile, offset: number, length: number, options?: AllocateOptions): Promise<void> {
  checkOffset(offset, 'offset');
  checkCount(length, 'length', 1, Number.MAX_SAFE_INTEGER);
  if (offset + length > Number.MAX_SAFE_INTEGER) throw argRangeError(`offset + length (${offset} + ${length}) passes 2^53-1`);
  if (options !== undefined && (options === null || typeof options !== 'object')) {
    throw argTypeError(`options must be an object, got ${options === null ? 'null' : typeof options}`);
  }
  const mode = options?.mode ?? 'default';
  if (typeof mode !== 'string' || !Object.hasOwn(MODES, mode)) {
    throw argValueError(`options.mode must be one of ${Object.keys(MODES).join(', ')}, got ${String(mode)}`);
  }
  // A block device's size is fixed: the kernel takes its modes only with KEEP_SIZE.
  const flags = MODES[mode] | (file.isBlockDevice ? FALLOC_FL_KEEP_SIZE : 0);
  return await holdOpen(file, 'fallocate', async (_io, inEngine) => {
    try {
      if (inEngine) await inEngine(flags, offset, length);
      else await fallocate(file.fd, flags, offset, length);
    } catch (err) {
      // The syscall stays the engine's: io_uring(fallocate) or fallocate.
      const syscall = err instanceof AioError ? err.syscall : 'fallocate';
      throw onFile(err, syscall, file.path, (code) => allocateHint(code, file, mode, offset, length));
    }
  });
}

function allocateHint(code: string, file: AioFile, mode: AllocateMode, offset: number, length: number): string | undefined {
  const what = `fallocate mode '${mode}' of ${length} bytes at ${offset} on ${file.path}`;
  if (code === 'EOPNOTSUPP') return `the file system (or device) of ${file.path} does not support ${what}`;
  if (code === 'ENOSPC') return `no space left for ${what}`;
  if (code === 'EBADF') return `${what} needs a file opened for writing`;
  if (code === 'EFBIG' || code === 'EINVAL') return `${what}: the range is past what the file may hold`;
  return undefined;
}

/** ftruncate(2) on the thread pool; see {@link AioFile.truncate}. */
export async function truncate(file: AioFile, len: number): Promise<void> {
  checkOffset(len, 'len');
  return await holdOpen(file, 'ftruncate', () => ftruncateHeld(file, len));
}

/** ftruncate(2) of a file the caller holds open, its refusal an AioError with the path and a hint. */
export async function ftruncateHeld(file: AioFile, len: number): Promise<void> {
  try {
    await ftruncateAsync(file.fd, len);
  } catch (err) {
    const { errno, code } = err as NodeJS.ErrnoException;
    if (typeof errno !== 'number' || code === undefined) throw err;
    throw fileError(errno, 'ftruncate', file.path, truncateHint(code, file, len));
  }
}

function truncateHint(code: string, file: AioFile, len: number): string {
  if (file.isBlockDevice) return `${file.path} is a block device: its size cannot change`;
  if (code === 'EINVAL' || code === 'EBADF') return `truncating ${file.path} to ${len} bytes needs a regular file opened for writing`;
  if (code === 'EFBIG') return `${len} bytes is more than ${file.path}'s file system allows`;
  return `truncating ${file.path} to ${len} bytes`;
}
