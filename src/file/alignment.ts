import { EINVAL } from '../core/errno.js';
import { AioError } from '../core/errors.js';
import type { FileFacts } from '../core/file-facts.js';
import { addressRemainder } from '../core/memory.js';
import { readInt } from '../util/read-text.js';

/** What direct I/O on a file requires of each request. */
export interface Alignment {
  /** Buffer addresses must be multiples of this. */
  memory: number;
  /** File positions and lengths must be multiples of this. */
  offset: number;
}

/** No constraint: buffered files. */
export const UNALIGNED: Alignment = Object.freeze({ memory: 1, offset: 1 });

function readSysNumber(file: string): number | undefined {
  const n = readInt(file);
  return n !== null && n > 0 ? n : undefined;
}

/** The logical block size of the device under a file, from sysfs (a partition's queue is its parent's). */
function deviceLogicalBlockSize(major: number, minor: number): number | undefined {
  const dev = `/sys/dev/block/${major}:${minor}`;
  return readSysNumber(`${dev}/queue/logical_block_size`) ?? readSysNumber(`${dev}/../queue/logical_block_size`);
}

/**
 * The alignment direct I/O needs on this file: `statx(STATX_DIOALIGN)` where
 * the kernel reports it (6.1+), else the logical block size (BLKSSZGET for
 * block devices, sysfs for the device under a file), else one page.
 */
export function discoverAlignment(facts: FileFacts): Alignment {
  if (facts.dioMemAlign > 0 && facts.dioOffsetAlign > 0) {
    return { memory: facts.dioMemAlign, offset: facts.dioOffsetAlign };
  }
  const block = facts.isBlockDevice
    ? facts.logicalBlockSize
    : deviceLogicalBlockSize(facts.devMajor, facts.devMinor);
  const size = block && block > 0 ? block : 4096;
  return { memory: size, offset: size };
}

/**
 * Checks one buffer and position against `a`; returns the AioError to
 * reject with, or undefined. Runs before the kernel sees the request.
 */
export function misalignment(a: Alignment, path: string, syscall: string, view: ArrayBufferView,
  position: number, checkPosition: boolean): AioError | undefined {
  const addr = a.memory > 1 ? addressRemainder(view, a.memory) : 0;
  const lenOff = view.byteLength % a.offset;
  const posOff = checkPosition ? position % a.offset : 0;
  if (addr === 0 && lenOff === 0 && posOff === 0) return undefined;
  const problems: string[] = [];
  if (addr !== 0) problems.push(`the buffer address is ${addr} bytes past a multiple of ${a.memory} (use allocAligned)`);
  if (lenOff !== 0) problems.push(`the length ${view.byteLength} is not a multiple of ${a.offset}`);
  if (posOff !== 0) problems.push(`the position ${position} is not a multiple of ${a.offset}`);
  return new AioError(EINVAL, syscall,
    `O_DIRECT on ${path} needs buffer addresses aligned to ${a.memory} bytes and lengths and positions in multiples of ${a.offset}: ${problems.join('; ')}. readAt() takes any range`, path);
}
