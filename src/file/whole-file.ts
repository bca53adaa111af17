/**
 * Whole-file helpers, aligned inside: the caller passes and gets exact
 * bytes, the kernel sees only aligned requests. Each holds the file open
 * from start to end, so close() waits for it.
 * @module
 */
import fs from 'node:fs';
import { promisify } from 'node:util';
import { constants as bufferConstants } from 'node:buffer';
import { Opcode } from '../core/constants.js';
import { allocAligned, addressRemainder } from '../core/memory.js';
import { argRangeError, argTypeError, checkView } from '../core/validate.js';
import type { AioFile } from './aio-file.js';
import { holdOpen } from './file-hold.js';
import { fileFacts } from '../core/file-facts.js';
import { AioError } from '../core/errors.js';
import { withPath } from './file-error.js';
import { ftruncateHeld } from './size-ops.js';
import { transferAll } from './transfer.js';

const fstatAsync = promisify(fs.fstat);

/** Bytes per request: large enough to stream, small enough to share the queue. */
const PIECE = 8 << 20;
/** Requests of one helper in flight at once. */
const WINDOW = 4;

const roundUp = (n: number, to: number): number => Math.ceil(n / to) * to;

/**
 * Runs requests of at most PIECE bytes over [0, length), WINDOW at a time;
 * resolves to the first position where one came back short (the end of the
 * file), or `length`.
 */
async function inPieces(length: number, io: (from: number, to: number) => Promise<number>): Promise<number> {
  let next = 0;
  let end = length;
  const worker = async (): Promise<void> => {
    while (next < end) {
      const from = next;
      const to = Math.min(from + PIECE, length);
      next = to;
      const n = await io(from, to);
      if (n < to - from) end = Math.min(end, from + n);
    }
  };
  const workers: Promise<void>[] = [];
  for (let i = 0; i < WINDOW && i * PIECE < length; i++) workers.push(worker());
  await Promise.all(workers);
  return end;
}

/** See {@link AioFile.readFile}. */
export function readFile(file: AioFile): Promise<Buffer> {
  return holdOpen(file, 'read', async (io) => {
    const size = file.isBlockDevice ? fileFacts(file.fd).size : (await fstatAsync(file.fd)).size;
    const { memory, offset } = file.alignment;
    const span = roundUp(size, offset);
    if (span > bufferConstants.MAX_LENGTH) {
      throw argRangeError(`${file.path} has ${size} bytes, more than a Buffer holds (${bufferConstants.MAX_LENGTH})`);
    }
    const buf = allocAligned(span, memory);
    const n = await inPieces(span, (from, to) => io(Opcode.PREAD, buf.subarray(from, to), from).catch((err: unknown) => {
      throw withPath(err, file.path);
    }));
    return buf.subarray(0, Math.min(n, size));
  });
}

/** See {@link AioFile.writeFile}. */
export async function writeFile(file: AioFile, data: string | ArrayBufferView): Promise<void> {
  if (typeof data !== 'string' && !ArrayBuffer.isView(data)) {
    throw argTypeError(`data must be a string, Buffer, TypedArray or DataView, got ${data === null ? 'null' : typeof data}`);
  }
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : asBytes(checkView(data, 'data'));
  const { memory, offset } = file.alignment;
  const span = roundUp(bytes.byteLength, offset);
  // The caller's memory is written as it is when it is aligned; otherwise a
  // padded aligned copy is, and the truncate cuts the padding off.
  let src = bytes;
  if (span !== bytes.byteLength || (memory > 1 && addressRemainder(bytes, memory) !== 0)) {
    src = allocAligned(span, memory);
    src.set(bytes);
  }
  await holdOpen(file, 'write', async (io) => {
    // Each piece as write() sends a buffer: on after a short write, so that
    // a failure is the kernel's own (ENOSPC, say). Its count would be of one
    // piece among several in flight, so none is given.
    await inPieces(span, (from, to) => transferAll('write', [src.subarray(from, to)], from, 0, PIECE,
      (piece, at) => io(Opcode.PWRITE, piece[0]!, at)).catch((err: unknown) => {
      if (err instanceof AioError) delete err.bytesWritten;
      throw withPath(err, file.path);
    }));
    await ftruncateHeld(file, bytes.byteLength);
  });
}

/** The bytes of any view, as a Buffer over the same memory. */
export function asBytes(view: ArrayBufferView): Buffer {
  return Buffer.from(view.buffer, view.byteOffset, view.byteLength);
}
