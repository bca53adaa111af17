/**
 * createWriteStream: a Writable over an AioFile (or a path it opens) with
 * aligned write-behind.
 * @module
 */
import { Writable } from 'node:stream';
import { BufferPool } from '../core/buffer-pool.js';
import { encodeIoPriority, type IoPriority } from '../core/ioprio.js';
import { argRangeError, argTypeError, argValueError, checkCount, checkOffset, shown } from '../core/validate.js';
import { abortError } from '../engine/backend.js';
import type { AioFile } from './aio-file.js';
import { shortWrite } from './file-error.js';

/** Options of {@link createWriteStream}. */
export interface WriteStreamOptions {
  /** Where the first byte goes (default 0); any position, aligned or not. */
  start?: number;
  /** Bytes per write, rounded up to the file's offset alignment (default 1 MiB, or the pool's size; at most 64 MiB). */
  chunkSize?: number;
  /** Writes kept in flight behind the producer (default 4); `depth × chunkSize` may not pass 256 MiB. */
  depth?: number;
  /** fdatasync before `finish` (default true); false leaves the data to the device's cache. */
  flush?: boolean;
  /** Destroys the stream with an AbortError that says how many bytes landed. */
  signal?: AbortSignal;
  /** Bytes the Writable buffers before `write()` returns false (default `chunkSize`). */
  highWaterMark?: number;
  /** Where the chunk buffers come from (default: a pool of the stream's own); its size is the chunk size. */
  pool?: BufferPool;
  /** The I/O priority of every read and write (see `RequestOptions.priority`). */
  priority?: IoPriority;
  /** With a path: the flags it is opened with (default `'w+'`; writing an unaligned range inside a file reads its edges). */
  flags?: string | number;
}

/** A path to open when the stream starts, and how: what {@link createWriteStream} makes of a path. */
export interface PathTarget {
  path: string;
  open(flags: string | number): Promise<AioFile>;
}

const isPathTarget = (t: AioFile | PathTarget): t is PathTarget => typeof (t as Partial<PathTarget>).open === 'function';

/** The most memory one stream may have in flight. */
const MAX_WRITE_BEHIND = 256 << 20;

const KNOWN = new Set(['start', 'chunkSize', 'depth', 'flush', 'signal', 'highWaterMark', 'pool', 'priority', 'flags']);

const REFUSED: Record<string, string> = {
  encoding: "strings are written as UTF-8; pass Buffers for anything else",
  defaultEncoding: "strings are written as UTF-8; pass Buffers for anything else",
  fd: 'pass the AioFile itself',
  mode: 'open the file with open(path, flags, { mode }) and pass the AioFile',
  autoClose: 'a stream closes the file only when it opened it from a path',
  emitClose: 'the stream always emits close',
  fs: "writes go to the AioFile's engine",
  objectMode: 'chunks are bytes',
};

/**
 * The Writable of {@link createWriteStream}: `bytesWritten` counts the bytes
 * that have landed in the file; a stream made from a path emits `ready` once
 * the file is open (`file` is then set).
 */
export class AioWriteStream extends Writable {
  readonly #opener: PathTarget | undefined;
  readonly #flags: string | number;
  #file: AioFile | undefined;
  readonly #start: number;
  readonly #asked: number | undefined;
  readonly #depth: number;
  readonly #flush: boolean;
  readonly #signal: AbortSignal | undefined;
  readonly #io: { priority?: IoPriority } | undefined;
  #pool: BufferPool | undefined;
  #chunkSize = 0;
  /** Where the next chunk goes: aligned, once the head is written. */
  #next = 0;
  /** The bytes before the first aligned position, when `start` is not aligned. */
  #head: Buffer[] = [];
  #headLeft = 0;
  #staging: Buffer | undefined;
  #fill = 0;
  readonly #inFlight = new Set<Promise<void>>();
  #landed = 0;
  #failure: unknown;
  readonly #onAbort = (): void => void this.destroy(abortError(this.#signal!));

  /** @internal use {@link createWriteStream} */
  constructor(target: AioFile | PathTarget, options: WriteStreamOptions, hwm: number) {
    super({ highWaterMark: hwm, decodeStrings: true });
    this.#opener = isPathTarget(target) ? target : undefined;
    this.#file = isPathTarget(target) ? undefined : target;
    this.#flags = options.flags ?? 'w+';
    this.#start = options.start ?? 0;
    this.#asked = options.chunkSize;
    this.#depth = options.depth ?? 4;
    this.#flush = options.flush ?? true;
    this.#signal = options.signal;
    this.#io = options.priority === undefined ? undefined : { priority: options.priority };
    this.#pool = options.pool;
    if (this.#file) this.#setUp(this.#file);
    if (this.#signal?.aborted) process.nextTick(this.#onAbort);
    else this.#signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  /** The bytes of this stream that have landed in the file (padding not counted). */
  get bytesWritten(): number {
    return this.#landed;
  }

  /** The file written to (undefined until a path is opened). */
  get file(): AioFile | undefined {
    return this.#file;
  }

  override _construct(callback: (err?: Error | null) => void): void {
    if (this.#file) return callback();
    this.#opener!.open(this.#flags).then((file) => {
      this.#file = file; // set first, so that _destroy closes it if the set-up fails
      this.#setUp(file);
    }).then(() => {
      callback();
      this.emit('ready');
    }, callback);
  }

  /** Fixes the chunk size, the pool and the head from the file's alignment. */
  #setUp(file: AioFile): void {
    const { memory, offset } = file.alignment;
    const asked = this.#asked ?? this.#pool?.size ?? 1 << 20;
    this.#chunkSize = Math.ceil(asked / offset) * offset;
    if (this.#depth * this.#chunkSize > MAX_WRITE_BEHIND) {
      throw argRangeError(`depth × chunkSize (${this.#depth} × ${this.#chunkSize}) would hold more than 256 MiB in flight`);
    }
    if (this.#pool) {
      if (this.#pool.size !== this.#chunkSize || this.#pool.alignment % memory !== 0) {
        throw argValueError(`the pool's buffers (${this.#pool.size} bytes aligned to ${this.#pool.alignment}) do not fit ` +
          `chunks of ${this.#chunkSize} bytes aligned to ${memory} on ${file.path}`);
      }
    } else {
      this.#pool = new BufferPool(this.#chunkSize, { alignment: Math.max(memory, 512), maxFree: this.#depth + 1 });
    }
    const skew = this.#start % offset;
    this.#headLeft = skew === 0 ? 0 : offset - skew;
    this.#next = this.#start + this.#headLeft;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    this.#take(chunk).then(() => callback(), callback);
  }

  override _final(callback: (err?: Error | null) => void): void {
    this.#finish().then(() => callback(), callback);
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    this.#signal?.removeEventListener('abort', this.#onAbort);
    this.#settleAll().then(async () => {
      if (this.#staging) this.#pool?.release(this.#staging);
      this.#staging = undefined;
      if (this.#opener && this.#file) await this.#file.close();
    }).then(() => callback(this.#landedError(err)), (closeErr: Error) => callback(this.#landedError(err ?? closeErr)));
  }

  /** The stream's error, saying how many bytes landed before it. */
  #landedError(err: Error | null): Error | null {
    if (!err) return null;
    const landed = `${this.#landed} bytes had landed at ${this.#start}`;
    if (err.name === 'AbortError') {
      const aborted = abortError(this.#signal ?? AbortSignal.abort(err));
      aborted.message = `The operation was aborted: ${landed}; the writes in flight completed and nothing was written after them`;
      return Object.assign(aborted, { bytesWritten: this.#landed });
    }
    err.message += ` (${landed})`;
    return Object.assign(err, { bytesWritten: this.#landed });
  }

  async #take(data: Uint8Array): Promise<void> {
    let off = 0;
    if (this.#headLeft > 0) {
      const n = Math.min(this.#headLeft, data.byteLength);
      this.#head.push(Buffer.from(data.subarray(0, n)));
      this.#headLeft -= n;
      off = n;
      if (this.#headLeft === 0) this.#track(this.#writeHead());
    }
    while (off < data.byteLength) {
      if (this.#failure !== undefined) throw this.#failure;
      if (this.destroyed) return;
      this.#staging ??= this.#pool!.acquire();
      const n = Math.min(this.#chunkSize - this.#fill, data.byteLength - off);
      this.#staging.set(data.subarray(off, off + n), this.#fill);
      this.#fill += n;
      off += n;
      if (this.#fill === this.#chunkSize) {
        await this.#room();
        if (this.destroyed) return;
        this.#issue(this.#chunkSize, this.#chunkSize);
      }
    }
    await this.#room();
    if (this.#failure !== undefined) throw this.#failure;
  }

  /** The head through writeAt, which reads the block it shares with what was there. */
  async #writeHead(): Promise<void> {
    const head = Buffer.concat(this.#head);
    this.#head = [];
    await this.#file!.writeAt(this.#start, head, this.#io);
    this.#landed += head.byteLength;
  }

  /**
   * Writes the first `length` bytes of the staging buffer at the next
   * position; `then` (the tail's truncate) is part of the write, so that the
   * bytes count as landed, and the stream can close, only once it is done.
   */
  #issue(length: number, dataBytes: number, then?: () => Promise<void>): void {
    const buf = this.#staging!;
    this.#staging = undefined;
    this.#fill = 0;
    const position = this.#next;
    this.#next += length;
    const write = this.#file!.write(buf.subarray(0, length), position, this.#io).then(async (n) => {
      if (n < length) throw shortWrite(this.#file!.path, n, length, position);
      if (then) await then();
      this.#landed += dataBytes;
    });
    // The buffer goes back to the pool only once the kernel is done with it.
    this.#track(write.finally(() => this.#pool!.release(buf)));
  }

  /** Counts a write in flight until it settles; its failure destroys the stream (after the others settle). */
  #track(write: Promise<void>): void {
    const tracked = write.then(undefined, (err: unknown) => {
      this.#failure ??= err;
      this.destroy(err as Error);
    }).finally(() => this.#inFlight.delete(tracked));
    this.#inFlight.add(tracked);
  }

  /** Waits until fewer than `depth` writes are in flight. */
  async #room(): Promise<void> {
    while (this.#inFlight.size >= this.#depth) await Promise.race(this.#inFlight);
  }

  async #settleAll(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.all(this.#inFlight);
  }

  /**
   * Waits for the writes in flight and throws the failure of one; true when
   * the stream was destroyed meanwhile (an abort after end()): nothing may be
   * written after that.
   */
  async #halted(): Promise<boolean> {
    await this.#settleAll();
    if (this.#failure !== undefined) throw this.#failure;
    return this.destroyed;
  }

  async #finish(): Promise<void> {
    const file = this.#file!;
    if (this.#head.length > 0) this.#track(this.#writeHead()); // the stream ended inside the first block
    if (await this.#halted()) return;
    if (this.#fill > 0) await this.#writeTail(file);
    if (await this.#halted()) return;
    if (this.#flush) await file.datasync();
    this.#signal?.removeEventListener('abort', this.#onAbort);
    if (this.#opener) await file.close();
  }

  /**
   * The last, partial chunk: its whole blocks as they are, the last block
   * padded with zeros and the file cut to the exact end when nothing of the
   * file was there (the usual case, and no read is needed), else merged with
   * what was there through writeAt.
   */
  async #writeTail(file: AioFile): Promise<void> {
    const a = file.alignment.offset;
    const fill = this.#fill;
    const whole = fill - (fill % a);
    const tailStart = this.#next + whole;
    const end = this.#next + fill;
    if (whole === fill) return this.#issue(fill, fill);
    const { size } = await file.stat();
    if (this.destroyed) return;
    if (size <= tailStart) {
      this.#staging!.fill(0, fill, whole + a);
      this.#issue(whole + a, fill, () => file.truncate(end));
      return;
    }
    const tail = Buffer.from(this.#staging!.subarray(whole, fill));
    if (whole > 0) this.#issue(whole, whole);
    else {
      this.#pool!.release(this.#staging!);
      this.#staging = undefined;
      this.#fill = 0;
    }
    if (await this.#halted()) return;
    this.#track(file.writeAt(tailStart, tail, this.#io).then(() => {
      this.#landed += tail.byteLength;
    }));
  }
}

/**
 * Checks the options and makes the stream over an AioFile or a path target;
 * see {@link createWriteStream}.
 * @internal
 */
export function makeWriteStream(target: AioFile | PathTarget, options: WriteStreamOptions = {}): AioWriteStream {
  if (options === null || typeof options !== 'object') throw argTypeError(`options must be an object, got ${shown(options)}`);
  for (const [key, value] of Object.entries(options)) {
    if (value === undefined || KNOWN.has(key)) continue;
    throw argValueError(`createWriteStream does not support the option '${key}': ${REFUSED[key] ?? `the options are ${[...KNOWN].join(', ')}`}`);
  }
  if (options.start !== undefined) checkOffset(options.start, 'start');
  if (options.chunkSize !== undefined) checkCount(options.chunkSize, 'chunkSize', 1, 64 << 20);
  if (options.depth !== undefined) checkCount(options.depth, 'depth', 1, 1024);
  if (options.flush !== undefined && typeof options.flush !== 'boolean') {
    throw argTypeError(`options.flush must be a boolean, got ${shown(options.flush)}`);
  }
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) {
    throw argTypeError(`options.signal must be an AbortSignal, got ${shown(options.signal)}`);
  }
  if (options.pool !== undefined && !(options.pool instanceof BufferPool)) {
    throw argTypeError(`options.pool must be a BufferPool, got ${shown(options.pool)}`);
  }
  if (options.priority !== undefined) encodeIoPriority(options.priority, 'options.priority');
  if (options.flags !== undefined && !isPathTarget(target)) {
    throw argValueError('options.flags applies to a path; an AioFile is open already');
  }
  const hwm = options.highWaterMark === undefined
    ? (options.chunkSize ?? options.pool?.size ?? 1 << 20)
    : checkCount(options.highWaterMark, 'highWaterMark', 0, 0x7fffffff);
  return new AioWriteStream(target, options, hwm);
}
