/**
 * createWriteStream(file | path, options): the package root's way to a
 * write stream; the stream itself is in write-stream.ts.
 * @module
 */
import { argTypeError, shown } from '../core/validate.js';
import { AioFile, open } from './aio-file.js';
import { makeWriteStream, type AioWriteStream, type WriteStreamOptions } from './write-stream.js';

/**
 * A Writable that writes what it is given to `target` (an AioFile, or a path
 * opened with `flags`, default `'w+'`, and closed at the end) from `start`,
 * in aligned chunks with up to `depth` writes in flight behind the producer.
 *
 * - The file gets exactly the bytes written: the last block is padded to
 *   the alignment and the file then cut to the exact length, or, where the
 *   file already had bytes there, merged with them (read-modify-write).
 * - `finish` means every byte has landed and, unless `flush: false`, been
 *   fdatasynced.
 * - On destroy or abort, the writes in flight complete, nothing is written
 *   after them, and the error says (and `bytesWritten` counts) how many bytes
 *   landed.
 *
 * Memory: `depth + 1` chunk buffers from the pool, and the Writable's buffer
 * of `highWaterMark` bytes.
 */
export function createWriteStream(target: AioFile | string, options?: WriteStreamOptions): AioWriteStream {
  if (target instanceof AioFile) return makeWriteStream(target, options);
  if (typeof target !== 'string' || target.length === 0) {
    throw argTypeError(`target must be an AioFile or a non-empty path, got ${shown(target)}`);
  }
  return makeWriteStream({ path: target, open: (flags) => open(target, flags) }, options);
}
