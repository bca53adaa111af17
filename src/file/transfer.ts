/**
 * Whole transfers over requests the kernel may cut short. Linux ends any one
 * read or write at MAX_RW_COUNT bytes (INT_MAX rounded down to a page), and a
 * write can land part-way before the device fills up. A request larger than
 * that goes out as aligned pieces, one after another; a short write goes on
 * from where it stopped; a short read means the end of the file.
 * @internal
 * @module
 */
import { AioError } from '../core/errors.js';
import type { Alignment } from './alignment.js';

/** The most bytes Linux moves in one read or write: `MAX_RW_COUNT`, 2,147,479,552. */
export const MAX_RW_COUNT = 0x7ffff000;

const EIO = 5;

/**
 * The largest piece of a split request: a multiple of both alignments no
 * larger than MAX_RW_COUNT, so that every piece starts and ends where O_DIRECT
 * allows.
 */
export function pieceLimit(a: Alignment): number {
  const step = lcm(a.memory, a.offset);
  return Math.floor(MAX_RW_COUNT / step) * step;
}

function lcm(a: number, b: number): number {
  let x = a;
  let y = b;
  while (y !== 0) [x, y] = [y, x % y];
  return (a / x) * b;
}

/** The total length of `views`. */
export function totalLength(views: readonly ArrayBufferView[]): number {
  let total = 0;
  for (const v of views) total += v.byteLength;
  return total;
}

/** Views of the bytes [from, from + length) of the concatenation of `views`. */
export function sliceViews(views: readonly ArrayBufferView[], from: number, length: number): ArrayBufferView[] {
  const out: ArrayBufferView[] = [];
  let skip = from;
  let left = length;
  for (const v of views) {
    if (left === 0) break;
    if (skip >= v.byteLength) {
      skip -= v.byteLength;
      continue;
    }
    const n = Math.min(v.byteLength - skip, left);
    out.push(skip === 0 && n === v.byteLength ? v : new Uint8Array(v.buffer, v.byteOffset + skip, n));
    skip = 0;
    left -= n;
  }
  return out;
}

/** Sends one piece to the engine; resolves to the bytes it moved. */
export type IssuePiece = (piece: ArrayBufferView[], position: number) => Promise<number>;

/**
 * Moves the bytes of `views` from `done` on, at most `limit` per request.
 * A read stops at the first short piece (the end of the file). A write goes
 * on until every byte is written; if one fails, the error carries
 * `bytesWritten`, the bytes that landed before it.
 */
export async function transferAll(op: 'read' | 'write', views: readonly ArrayBufferView[], position: number,
  done: number, limit: number, issue: IssuePiece): Promise<number> {
  const total = totalLength(views);
  while (done < total) {
    const want = Math.min(limit, total - done);
    let n: number;
    try {
      n = await issue(sliceViews(views, done, want), position + done);
    } catch (err) {
      throw op === 'write' ? withBytesWritten(err, done) : err;
    }
    done += n;
    if (n < want) {
      if (op === 'read') break;
      if (n === 0) throw withBytesWritten(new AioError(EIO, 'write', 'the kernel accepted none of the remaining bytes'), done);
    }
  }
  return done;
}

/**
 * Tells a write's kernel error how many bytes landed before it. An abort is
 * left alone: its request may still complete in the kernel.
 */
export function withBytesWritten(err: unknown, bytesWritten: number): unknown {
  if (err instanceof AioError) err.bytesWritten = bytesWritten;
  return err;
}
