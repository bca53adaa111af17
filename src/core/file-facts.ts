/**
 * What the kernel says about an open file, and preallocation: the addon's
 * file calls, typed, for the layers above.
 * @internal
 * @module
 */
import { native, type NativeFileFacts } from './native.js';

/** statx and ioctl facts of an open fd (see {@link fileFacts}). */
export type FileFacts = NativeFileFacts;

/** The facts of an open fd: kind, size (BLKGETSIZE64 for a device), DIO alignment, block sizes, device numbers. */
export function fileFacts(fd: number): FileFacts {
  return native.fileFacts(fd);
}

/** fallocate(2) on libuv's thread pool; rejects with AioError. */
export function fallocate(fd: number, mode: number, offset: number, length: number): Promise<void> {
  return native.fallocate(fd, mode, offset, length);
}
