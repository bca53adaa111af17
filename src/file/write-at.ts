/**
 * writeAt(position, data) at any alignment on an O_DIRECT file.
 *
 * The kernel takes only aligned requests, so an unaligned range is written
 * as the aligned span that covers it: the partial blocks at its edges are
 * read first and the caller's bytes laid over them (read-modify-write).
 *
 * Two things make that safe with many writeAts in flight:
 * - Each writeAt holds its aligned span, in call order: one whose span meets
 *   the span of an earlier one waits for it to be written. So a
 *   read-modify-write never reads a block that another writeAt is about to
 *   change, no byte of one is lost to another, and overlapping writeAts land
 *   in the order they were called. Spans apart run in parallel.
 * - A span that ends past the end of the file writes padding there (zeros),
 *   which must not stay: the file is cut back with ftruncate once no writeAt
 *   is running, to the furthest byte any of them wrote or the size there was.
 *   writeAts called while such a cut is due wait until it is done, so it is
 *   never put off for long.
 *
 * The span goes to the kernel as write() sends a buffer: in pieces of at
 * most MAX_RW_COUNT, on after a short write, and a failure says in
 * `bytesWritten` how many of the caller's bytes landed.
 * @module
 */
import fs from 'node:fs';
import { promisify } from 'node:util';
import { Opcode } from '../core/constants.js';
import { allocAligned, addressRemainder } from '../core/memory.js';
import { argRangeError, argTypeError, checkCount, checkOffset, checkView } from '../core/validate.js';
import { encodeIoPriority } from '../core/ioprio.js';
import { abortError, type RequestOptions } from '../engine/backend.js';
import type { AioFile } from './aio-file.js';
import { holdOpen, type HeldIo } from './file-hold.js';
import { AioError } from '../core/errors.js';
import { fileError, withPath } from './file-error.js';
import { ftruncateHeld } from './size-ops.js';
import { pieceLimit, transferAll, withBytesWritten } from './transfer.js';
import { asBytes } from './whole-file.js';

const fstatAsync = promisify(fs.fstat);

/** Options of {@link AioFile.writeAt}: `flags` go to the write, `priority` to its reads and write; `signal` is checked between the steps. */
export type WriteAtOptions = RequestOptions;

/** An aligned span held by one writeAt. */
interface Span {
  start: number;
  end: number;
  done: Promise<void>;
}

/** The writeAts of one file. */
interface State {
  /** Spans held or waited for, in call order. */
  spans: Span[];
  /** writeAts past the gate and not yet written. */
  running: number;
  /** The furthest byte written by the running writeAts. */
  furthest: number;
  /** The sizes read at the ends of padded spans: the file had at least these. */
  floor: number;
  /** The end of the furthest padded span, when a cut is due. */
  padded: number;
  /** Settles when the due cut is done; new writeAts wait for it. */
  gate: { promise: Promise<void>; resolve: () => void; reject: (e: unknown) => void } | undefined;
}

const states = new WeakMap<AioFile, State>();

function stateOf(file: AioFile): State {
  let s = states.get(file);
  if (!s) {
    s = { spans: [], running: 0, furthest: 0, floor: 0, padded: 0, gate: undefined };
    states.set(file, s);
  }
  return s;
}

/** See {@link AioFile.writeAt}. */
export async function writeAt(file: AioFile, position: number, data: string | ArrayBufferView,
  opts?: WriteAtOptions): Promise<number> {
  checkOffset(position, 'position');
  if (typeof data !== 'string' && !ArrayBuffer.isView(data)) {
    throw argTypeError(`data must be a string, Buffer, TypedArray or DataView, got ${data === null ? 'null' : typeof data}`);
  }
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : asBytes(checkView(data, 'data'));
  if (position + bytes.byteLength > Number.MAX_SAFE_INTEGER) {
    throw argRangeError(`position + length (${position} + ${bytes.byteLength}) passes 2^53-1`);
  }
  if (opts !== undefined && (opts === null || typeof opts !== 'object')) throw argTypeError('opts must be an object');
  const signal = opts?.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw argTypeError('opts.signal must be an AbortSignal');
  // Only the flags reach the kernel: a request's signal would settle its
  // promise before the kernel is done, and the span must be held until then.
  const { flags, priority } = opts ?? {};
  if (flags !== undefined) checkCount(flags, 'opts.flags', 0, 0xffffffff);
  if (priority !== undefined) encodeIoPriority(priority, 'opts.priority');
  const writeOpts = flags === undefined && priority === undefined ? undefined : { flags, priority };
  return holdOpen(file, 'write', async (io) => {
    if (signal?.aborted) throw abortError(signal);
    if (bytes.byteLength === 0) return 0;
    const s = stateOf(file);
    // A failed cut fails the writeAts that padded, not those that waited for it.
    while (s.gate) await s.gate.promise.catch(() => undefined);
    s.running++;
    s.furthest = Math.max(s.furthest, position + bytes.byteLength);
    let padder = false;
    try {
      padder = await writeSpan(file, io, s, position, bytes, signal, writeOpts);
    } finally {
      if (--s.running === 0) {
        if (s.gate) void cut(file, s);
        else s.floor = s.furthest = 0;
      }
    }
    if (padder) await s.gate!.promise;
    return bytes.byteLength;
  });
}

/** Holds the span in call order, read-modify-writes it; true when it left padding past the end. */
async function writeSpan(file: AioFile, io: HeldIo, s: State, position: number, bytes: Buffer,
  signal: AbortSignal | undefined, writeOpts: RequestOptions | undefined): Promise<boolean> {
  const { memory, offset: a } = file.alignment;
  const end = position + bytes.byteLength;
  const start = position - (position % a);
  const spanEnd = Math.ceil(end / a) * a;
  let release!: () => void;
  const mine: Span = { start, end: spanEnd, done: new Promise<void>((r) => (release = r)) };
  const earlier = s.spans.filter((o) => o.start < spanEnd && start < o.end).map((o) => o.done);
  s.spans.push(mine);
  /** Bytes of the span written, from `start`. */
  let landed = 0;
  try {
    if (earlier.length > 0) await Promise.all(earlier);
    if (signal?.aborted) throw abortError(signal);
    const headEdge = position !== start;
    const tailEdge = end !== spanEnd;
    let span = bytes;
    let tailRead = a;
    if (headEdge || tailEdge || (memory > 1 && addressRemainder(bytes, memory) !== 0)) {
      span = allocAligned(spanEnd - start, memory);
      const tailStart = spanEnd - a;
      const reads: Promise<number>[] = [];
      const readOpts = writeOpts?.priority === undefined ? undefined : { priority: writeOpts.priority };
      if (headEdge) reads.push(readBlock(file, io, span, start, start, a, readOpts));
      if (tailEdge && (tailStart !== start || !headEdge)) reads.push(readBlock(file, io, span, start, tailStart, a, readOpts));
      const got = await Promise.all(reads);
      if (tailEdge) tailRead = got[got.length - 1]!;
      if (signal?.aborted) throw abortError(signal);
      span.set(bytes, position - start);
      if (tailEdge && tailRead < a) {
        // The span reaches past the end of the file: the cut must leave the size read here.
        s.floor = Math.max(s.floor, tailStart + tailRead);
      }
    }
    await transferAll('write', [span], start, 0, pieceLimit(file.alignment), async (piece, at) => {
      const n = await io(Opcode.PWRITE, piece[0]!, at, writeOpts);
      landed = at - start + n;
      return n;
    });
    if (tailEdge && tailRead < a) {
      s.padded = Math.max(s.padded, spanEnd);
      if (!s.gate) {
        let resolve!: () => void;
        let reject!: (e: unknown) => void;
        const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
        promise.catch(() => undefined); // awaited by the padders; the gate's other waiters only wait
        s.gate = { promise, resolve, reject };
      }
      return true;
    }
    return false;
  } catch (err) {
    // The edge bytes before the caller's are the file's own: only the caller's count.
    const ours = Math.max(0, Math.min(bytes.byteLength, landed - (position - start)));
    throw withBytesWritten(withPath(err, file.path), ours);
  } finally {
    s.spans.splice(s.spans.indexOf(mine), 1);
    release();
  }
}

/** Reads the `a`-byte block at `at` into its place in `span`, which starts at `start`; resolves to the bytes read. */
function readBlock(file: AioFile, io: HeldIo, span: Buffer, start: number, at: number, a: number,
  opts: RequestOptions | undefined): Promise<number> {
  return io(Opcode.PREAD, span.subarray(at - start, at - start + a), at, opts).catch((err: unknown) => {
    // The kernel refuses a read of a write-only file with EBADF.
    if (!(err instanceof AioError) || err.code !== 'EBADF') throw err;
    throw fileError(err.errno, err.syscall, file.path,
      `writeAt of a range that is not aligned to ${a} bytes reads the blocks at its edges: open ${file.path} for reading too ('r+' or 'w+')`);
  });
}

/** Cuts the padding off once no writeAt runs, then opens the gate. The padders hold the file open meanwhile. */
async function cut(file: AioFile, s: State): Promise<void> {
  const gate = s.gate!;
  const target = Math.max(s.floor, s.furthest);
  const padded = s.padded;
  s.floor = s.furthest = s.padded = 0;
  let failure: unknown;
  try {
    const { size } = await fstatAsync(file.fd);
    // A size past the padding was made by some other write: the padding is
    // then inside the file, where zeros are what those bytes hold.
    if (size > target && size <= padded) await ftruncateHeld(file, target);
  } catch (err) {
    failure = err;
  }
  s.gate = undefined;
  if (failure === undefined) gate.resolve();
  else gate.reject(failure);
}
