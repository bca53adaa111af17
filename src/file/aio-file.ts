import fs from 'node:fs';
import { promisify } from 'node:util';
import { EBADF } from '../core/errno.js';
import { AioError } from '../core/errors.js';
import { allocAligned } from '../core/memory.js';
import { Opcode } from '../core/constants.js';
import { fallocate, fileFacts } from '../core/file-facts.js';
import { argRangeError, argTypeError, argValueError, checkCount, checkOffset, checkView, checkViews, shown } from '../core/validate.js';
import { encodeIoPriority } from '../core/ioprio.js';
import { abortError, type Engine, type EngineData, type EngineName, type EngineOp, type RequestOptions } from '../engine/backend.js';
import { IoQueue, queueEngine } from '../engine/io-queue.js';
import { threadPool } from '../engine/threadpool.js';
import { ENGINE_CHOICES, autoEngine, envEngine, type EngineChoice } from '../engine/select.js';
import { UNALIGNED, discoverAlignment, misalignment, type Alignment } from './alignment.js';
import { eachThenAll, planMany, spreadResults, type IoRange, type ManyOptions, type ManyPlan } from './many.js';
import { parseOpenFlags } from './open-flags.js';
import { createReadStream, type ReadStreamOptions } from './read-stream.js';
import { accessError, accessRefusals, notAFileError, openError, refuseNonFile, type AccessRefusals } from './open-errors.js';
import { closing, watchUnclosed } from './unclosed.js';
import { pieceLimit, totalLength, transferAll, withBytesWritten } from './transfer.js';
import { allocate, truncate, type AllocateOptions } from './size-ops.js';
import { readFile, writeFile } from './whole-file.js';
import { registerHold, type HeldAllocate, type HeldIo } from './file-hold.js';
import { writeAt, type WriteAtOptions } from './write-at.js';
import { makeWriteStream, type AioWriteStream, type WriteStreamOptions } from './write-stream.js';
import type { Readable } from 'node:stream';

const openAsync = promisify(fs.open);
const closeAsync = promisify(fs.close);
const fstatAsync = promisify(fs.fstat);

/** Options of {@link open}. */
export interface OpenOptions {
  /** Open with O_DIRECT (default true): no page cache, aligned requests. O_DIRECT among numeric `flags` wins over `false`. */
  direct?: boolean;
  /**
   * `'auto'` (default) uses Linux AIO for O_DIRECT files and block devices,
   * and io_uring for buffered ones where the kernel allows it, else the
   * thread pool (Linux AIO would run buffered I/O synchronously inside
   * io_submit, blocking the event loop). `'aio'`, `'uring'` and
   * `'threadpool'` force one; `'uring'` throws AioError where io_uring is
   * not allowed. Without `engine` and `queue`, the LINUX_AIO_ENGINE
   * environment variable, when set, stands in for `engine`.
   */
  engine?: EngineChoice;
  /** Creation mode (default 0o666, less the umask). */
  mode?: number;
  /**
   * Preallocate the file to at least this many bytes with fallocate, so that
   * later writes do not extend it (extending writes may block in io_submit).
   */
  size?: number;
  /** The queue to use, on its engine (default: this thread's {@link IoQueue.default} for the engine). */
  queue?: IoQueue;
  /**
   * On io_uring, put the file in the ring's file table
   * (`IORING_REGISTER_FILES`), so that each request skips the kernel's
   * lookup of the fd (`IOSQE_FIXED_FILE`; counted in the queue's
   * `stats().fixedFiles`); it is taken out at `close()`, once its requests
   * are done. Ignored on the other engines, which have no such table:
   * `file.registered` says whether it applied. Default false.
   */
  registerFile?: boolean;
}

/**
 * A file or block device opened for asynchronous I/O, like
 * `fs.promises.FileHandle` but on Linux AIO. Reads and writes made in the
 * same tick are submitted together.
 *
 * With O_DIRECT every buffer address must be a multiple of
 * `alignment.memory`, and every position and length a multiple of
 * `alignment.offset` ({@link allocAligned} gives such buffers); requests that
 * are not are rejected with AioError `EINVAL` before the kernel sees them.
 * {@link AioFile.readAt} takes any range.
 */
export class AioFile implements AsyncDisposable {
  /**
   * The file descriptor, for calls the library does not make (fcntl, ioctl).
   * It belongs to the file: do not close it yourself. As with Node's
   * FileHandle, requests made after that go to whatever file reuses the
   * number, and close() rejects with AioError `EBADF`.
   */
  readonly fd: number;
  /** The path it was opened with. */
  readonly path: string;
  /** What each request must be aligned to (1 and 1 for buffered files). */
  readonly alignment: Readonly<Alignment>;
  /** Whether the file was opened with O_DIRECT. */
  readonly direct: boolean;
  /** True for a block device. */
  readonly isBlockDevice: boolean;
  /** The engine its requests go to. */
  readonly engine: EngineName;
  /** True when the file is in its io_uring ring's file table (`registerFile: true` on the uring engine). */
  readonly registered: boolean;
  readonly #engine: Engine;
  /** fallocate through the engine, where it carries it (io_uring). */
  readonly #heldAllocate: HeldAllocate | undefined;
  /** The largest single request; longer ones go out in pieces (see transfer.ts). */
  readonly #pieceMax: number;
  /** Why a read or a write would be refused by the access mode (EBADF), if it would. */
  readonly #cannotRead: string | undefined;
  readonly #cannotWrite: string | undefined;
  #inFlight = 0;
  #closing: Promise<void> | undefined;
  #onIdle: (() => void) | undefined;
  /** The engine calls it once per request, when it is done with the fd and memory. */
  readonly #release = (): void => {
    if (--this.#inFlight === 0 && this.#onIdle) {
      const resolve = this.#onIdle;
      this.#onIdle = undefined;
      resolve();
    }
  };

  /** @internal use {@link open} */
  constructor(fd: number, path: string, alignment: Alignment, direct: boolean, isBlockDevice: boolean, engine: Engine,
    refusals?: AccessRefusals, registered = false) {
    if (typeof (engine as Partial<Engine> | null)?.submit !== 'function') throw argTypeError('an AioFile is made by open(), not with new');
    this.fd = fd;
    this.path = path;
    this.alignment = Object.freeze({ ...alignment });
    this.direct = direct;
    this.isBlockDevice = isBlockDevice;
    this.#engine = engine;
    this.engine = engine.name;
    this.registered = registered;
    // The hold that runs it already counts it (and keeps the fd open until
    // the completion is reaped), so the engine's release has nothing to do.
    const inEngine = engine.allocate;
    this.#heldAllocate = inEngine && ((mode, offset, length) => inEngine.call(engine, fd, mode, offset, length, toVoid));
    this.#pieceMax = pieceLimit(alignment);
    registerHold(this, (syscall, fn) => this.#hold(syscall, fn));
    this.#cannotRead = refusals?.read;
    this.#cannotWrite = refusals?.write;
    watchUnclosed(this, fd, path, registered ? unregisterer(engine, fd) : undefined);
  }

  /** Requests of this file not yet completed. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /**
   * Reads `buf.byteLength` bytes at `position` into `buf`. Requests longer
   * than the kernel's 2,147,479,552-byte cap go out as aligned pieces.
   * @returns the bytes read: fewer only at the end of the file, 0 past it
   */
  read(buf: ArrayBufferView, position: number, opts?: RequestOptions): Promise<number> {
    const o = this.#check(buf, position, 'read', opts);
    if (o instanceof Error) return Promise.reject(o);
    if (buf.byteLength > this.#pieceMax) return this.#transfer('read', [buf], position, o, 0);
    return this.#submit(Opcode.PREAD, buf, position, o);
  }

  /**
   * Writes all of `buf` at `position`; resolves to `buf.byteLength` once every
   * byte is written (a write the kernel cuts short goes on from where it
   * stopped). A write that fails part-way rejects with an AioError whose
   * `bytesWritten` tells how many bytes landed.
   */
  write(buf: ArrayBufferView, position: number, opts?: RequestOptions): Promise<number> {
    const o = this.#check(buf, position, 'write', opts);
    if (o instanceof Error) return Promise.reject(o);
    const length = buf.byteLength;
    if (length > this.#pieceMax) return this.#transfer('write', [buf], position, o, 0);
    this.#inFlight++;
    return this.#whole(this.#submit(Opcode.PWRITE, buf, position, o), [buf], position, o, length);
  }

  /** Reads at `position` into `bufs` in order; resolves to the total bytes read, fewer only at the end of the file. */
  readv(bufs: readonly ArrayBufferView[], position: number, opts?: RequestOptions): Promise<number> {
    return this.#vectored(bufs, position, opts, 'readv');
  }

  /** Writes all of `bufs` in order at `position`, as {@link write} does; resolves to the total bytes written. */
  writev(bufs: readonly ArrayBufferView[], position: number, opts?: RequestOptions): Promise<number> {
    return this.#vectored(bufs, position, opts, 'writev');
  }

  /**
   * Reads many ranges in one call that settles once, when all are done: for
   * callers that do not need a promise per read (an index lookup, a
   * scatter of blocks). The ranges are checked as {@link read} checks one,
   * and a range that starts where the one before it in the list ends joins
   * its request, a vectored one (see
   * {@link ManyOptions.coalesce}; `{ maxGap }` also merges ranges that
   * nearly touch, reading the gap into scratch memory). On the aio engine
   * the batch costs one promise, not one per range.
   * @returns the bytes read into each range, in the order given
   * @throws (rejects) the error of the first range that failed, once every range is done
   */
  readMany(ranges: readonly IoRange[], opts?: ManyOptions): Promise<number[]> {
    return this.#many(ranges, opts, false);
  }

  /** Writes many ranges in one call that settles once; ranges that touch are merged. See {@link readMany}. */
  writeMany(ranges: readonly IoRange[], opts?: ManyOptions): Promise<number[]> {
    return this.#many(ranges, opts, true);
  }

  /** Flushes data and metadata to the device (an AIO fsync on the aio engine). */
  fsync(): Promise<void> {
    const err = this.#closedError('fsync');
    if (err) return Promise.reject(err);
    return this.#submit(Opcode.FSYNC, undefined, 0, undefined).then(toVoid);
  }

  /** Flushes data, and the metadata needed to read it back (an AIO fdsync on the aio engine). */
  fdatasync(): Promise<void> {
    const err = this.#closedError('fdatasync');
    if (err) return Promise.reject(err);
    return this.#submit(Opcode.FDSYNC, undefined, 0, undefined).then(toVoid);
  }

  /**
   * fallocate(2) on `length` bytes at `offset`: through the ring on the
   * uring engine (IORING_OP_FALLOCATE), else on the thread pool. The
   * default mode reserves the blocks, extending the file if needed, so that
   * writes there do not allocate; see {@link AllocateOptions} for the others.
   * @throws AioError `EOPNOTSUPP` where the file system has no such mode
   */
  allocate(offset: number, length: number, options?: AllocateOptions): Promise<void> {
    return allocate(this, offset, length, options);
  }

  /** Sets the file's size to `len` bytes (ftruncate, on the thread pool), as `FileHandle.truncate`. */
  truncate(len = 0): Promise<void> {
    return truncate(this, len);
  }

  /** {@link fsync} under the name Node's FileHandle uses. */
  sync(): Promise<void> {
    return this.fsync();
  }

  /** {@link fdatasync} under the name Node's FileHandle uses. */
  datasync(): Promise<void> {
    return this.fdatasync();
  }

  /**
   * The whole file (up to the size fstat gives when it starts), read in
   * aligned pieces of a few MiB with several in flight. The Buffer is a view
   * of aligned memory; no encoding is applied.
   */
  readFile(): Promise<Buffer> {
    return readFile(this);
  }

  /**
   * Replaces the file's contents with `data` (a string is written as UTF-8):
   * writes it from position 0 in aligned pieces, the tail padded to the
   * alignment, then truncates the file to exactly `data`'s length.
   */
  writeFile(data: string | ArrayBufferView): Promise<void> {
    return writeFile(this, data);
  }

  /**
   * fstat; for a block device `size` is the device's size (BLKGETSIZE64).
   * Counts as in flight: a close() waits for it.
   */
  async stat(): Promise<fs.Stats> {
    const err = this.#closedError('fstat');
    if (err) throw err;
    this.#inFlight++;
    try {
      const st = await fstatAsync(this.fd);
      if (this.isBlockDevice) st.size = fileFacts(this.fd).size;
      return st;
    } finally {
      this.#release();
    }
  }

  /**
   * Reads `length` bytes at any `position`, aligned or not: reads the aligned
   * span that covers them into aligned memory and returns a view of exactly
   * the bytes asked for (shorter at the end of the file).
   */
  async readAt(position: number, length: number, opts?: RequestOptions): Promise<Buffer> {
    checkOffset(position, 'position');
    checkCount(length, 'length', 0, 0x7fffffff);
    const o = readRequestOptions(opts);
    // Checked here too, for the empty ranges that never reach read().
    const closed = this.#closedError('read');
    if (closed) throw closed;
    if (o?.signal?.aborted) throw abortError(o.signal);
    const { memory, offset } = this.alignment;
    const start = position - (position % offset);
    const end = Math.ceil((position + length) / offset) * offset;
    const span = allocAligned(end - start, memory);
    if (span.length === 0) return span;
    const n = await this.read(span, start, o);
    const from = position - start;
    return span.subarray(from, Math.max(from, Math.min(from + length, n)));
  }

  /**
   * Writes `data` (a string as UTF-8) at any `position`, aligned or not, and
   * resolves to its length. An aligned range from aligned memory is one
   * write; otherwise the aligned span around it is written from a copy, after
   * reading the partial blocks at its edges (one read each, in parallel), and
   * a span that ends past the end of the file is cut back with ftruncate.
   * Overlapping writeAts land in call order and never lose each other's bytes.
   * As with {@link write}, a span past the kernel's cap goes out in pieces and
   * a failure's `bytesWritten` counts the bytes of `data` that landed.
   * docs/filehandle.md gives the cost.
   */
  writeAt(position: number, data: string | ArrayBufferView, opts?: WriteAtOptions): Promise<number> {
    return writeAt(this, position, data, opts);
  }

  /**
   * A Readable of the bytes [start, end] that keeps `depth` aligned reads in
   * flight ahead of the consumer (see {@link createReadStream}).
   */
  createReadStream(options?: ReadStreamOptions): Readable {
    return createReadStream(this, options);
  }

  /**
   * A Writable that writes at `start` in aligned chunks with `depth` writes
   * in flight behind the producer (see the package root's `createWriteStream`).
   */
  createWriteStream(options?: WriteStreamOptions): AioWriteStream {
    return makeWriteStream(this, options);
  }

  /**
   * Waits for this file's requests in flight, then closes the descriptor.
   * Every use afterwards rejects with AioError `EBADF`. A file dropped
   * without close() has its descriptor closed once it is garbage collected,
   * with a process warning naming its path, as Node's FileHandle does.
   */
  close(): Promise<void> {
    if (!this.#closing) closing(this);
    this.#closing ??= this.#closeWhenIdle();
    return this.#closing;
  }

  /** Same as {@link close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #closeWhenIdle(): Promise<void> {
    if (this.#inFlight > 0) await new Promise<void>((resolve) => (this.#onIdle = resolve));
    try {
      // Out of the ring's table first: a file that reuses the number must not reach this one.
      if (this.registered) this.#engine.unregisterFile?.(this.fd);
    } finally {
      await this.#closeFd();
    }
  }

  async #closeFd(): Promise<void> {
    try {
      await closeAsync(this.fd);
    } catch (err) {
      const errno = (err as NodeJS.ErrnoException).errno;
      if (typeof errno !== 'number') throw err;
      throw new AioError(errno, 'close', errno === -EBADF
        ? `fd ${this.fd} was closed behind the library's back (by fs.closeSync(file.fd), say): requests made since went to whatever file reused the number`
        : undefined, this.path);
    }
  }

  /** Hands one checked request to the engine, counted until the engine releases it. */
  #submit(op: EngineOp, data: EngineData, position: number, opts: RequestOptions | undefined): Promise<number> {
    this.#inFlight++;
    return this.#engine.submit(op, this.fd, data, position, opts, this.#release);
  }

  /**
   * Settles a write of `length` bytes once all of them are written: a short
   * completion goes on with the rest. The caller counted the request once
   * more than the engine does, released here, so that a close() waiting for
   * the first request cannot close the descriptor under the rest.
   */
  #whole(first: Promise<number>, views: ArrayBufferView[], position: number, o: RequestOptions | undefined,
    length: number): Promise<number> {
    return first.then((n) => {
      if (n === length) {
        this.#release();
        return n;
      }
      return this.#transfer('write', views, position, o, n).finally(this.#release);
    }, (err: unknown) => {
      this.#release();
      throw withBytesWritten(err, 0);
    });
  }

  /** A transfer in pieces (see transfer.ts), holding the file open from the first to the last. */
  async #transfer(op: 'read' | 'write', views: ArrayBufferView[], position: number, o: RequestOptions | undefined,
    done: number): Promise<number> {
    this.#inFlight++;
    try {
      return await transferAll(op, views, position, done, this.#pieceMax, (piece, at) => {
        if (piece.length === 1) return this.#submit(op === 'read' ? Opcode.PREAD : Opcode.PWRITE, piece[0]!, at, o);
        return this.#submit(op === 'read' ? Opcode.PREADV : Opcode.PWRITEV, piece, at, o);
      });
    } finally {
      this.#release();
    }
  }

  readonly #heldIo: HeldIo = (op, data, position, opts) => this.#submit(op, data, position, opts);

  /** Runs `fn` (several requests, or an operation outside the engine) holding the file open: close() waits for it. */
  async #hold<T>(syscall: string, fn: (io: HeldIo, allocate: HeldAllocate | undefined) => Promise<T>): Promise<T> {
    const err = this.#closedError(syscall);
    if (err) throw err;
    this.#inFlight++;
    try {
      return await fn(this.#heldIo, this.#heldAllocate);
    } finally {
      this.#release();
    }
  }

  #many(ranges: readonly IoRange[], opts: ManyOptions | undefined, write: boolean): Promise<number[]> {
    let plan: ManyPlan;
    let o: RequestOptions | undefined;
    try {
      // Each option is read once, as for one request.
      const coalesce = opts === undefined || opts === null || typeof opts !== 'object' ? undefined : opts.coalesce;
      o = readRequestOptions(opts);
      plan = planMany(ranges, coalesce, write, this.direct ? this.alignment : undefined, this.path);
    } catch (err) {
      return Promise.reject(err);
    }
    const op = write ? 'writeMany' : 'readMany';
    const closed = this.#closedError(op) ?? this.#accessError(op);
    if (closed) return Promise.reject(closed);
    const count = plan.ops.length;
    if (count === 0) return Promise.resolve([]);
    const engine = this.#engine;
    let results: Promise<number[]>;
    if (engine.submitMany) {
      this.#inFlight++;
      results = engine.submitMany(plan.ops, this.fd, plan.datas, plan.positions, o, this.#release);
    } else {
      results = eachThenAll(count, (q) => this.#submit(plan.ops[q]!, plan.datas[q], plan.positions[q]!, o));
    }
    return plan.starts ? results.then((r) => spreadResults(plan, ranges, r)) : results;
  }

  #vectored(bufs: readonly ArrayBufferView[], position: number, opts: RequestOptions | undefined,
    op: 'readv' | 'writev'): Promise<number> {
    let views: ArrayBufferView[];
    let o: RequestOptions | undefined;
    try {
      views = checkViews(bufs, 'bufs');
      checkOffset(position, 'position');
      o = readRequestOptions(opts);
    } catch (err) {
      return Promise.reject(err);
    }
    const closed = this.#closedError(op) ?? this.#accessError(op);
    if (closed) return Promise.reject(closed);
    if (this.direct) {
      for (let i = 0; i < views.length; i++) {
        const err = misalignment(this.alignment, this.path, op, views[i]!, position, i === 0);
        if (err) return Promise.reject(err);
      }
    }
    const total = totalLength(views);
    if (total > this.#pieceMax) return this.#transfer(op === 'readv' ? 'read' : 'write', views, position, o, 0);
    if (op === 'readv') return this.#submit(Opcode.PREADV, views, position, o);
    this.#inFlight++;
    return this.#whole(this.#submit(Opcode.PWRITEV, views, position, o), views, position, o, total);
  }

  /** Checks a request; returns the error to reject with, or the options as read once. */
  #check(buf: ArrayBufferView, position: number, op: string, opts: RequestOptions | undefined): Error | RequestOptions | undefined {
    let o: RequestOptions | undefined;
    try {
      checkView(buf, 'buf');
      checkOffset(position, 'position');
      o = readRequestOptions(opts);
    } catch (err) {
      return err as Error;
    }
    return this.#closedError(op) ?? this.#accessError(op) ??
      (this.direct ? misalignment(this.alignment, this.path, op, buf, position, true) : undefined) ?? o;
  }

  #closedError(op: string): AioError | undefined {
    return this.#closing ? new AioError(EBADF, op, `${this.path} is closed`, this.path) : undefined;
  }

  /** The kernel would answer EBADF: say that it is the access mode, before it does. */
  #accessError(op: string): AioError | undefined {
    const hint = op.startsWith('read') ? this.#cannotRead : this.#cannotWrite;
    return hint === undefined ? undefined : accessError(op, hint, this.path);
  }
}

/**
 * Reads and checks a request's options before anything is counted or
 * queued: a bad signal or flags value must fail this request alone, as a
 * TypeError or RangeError, never a neighbour in the same io_submit batch.
 * Each option is read once, and the engine gets this copy, so a getter that
 * answers differently the second time cannot slip past the check.
 */
function readRequestOptions(opts: RequestOptions | undefined): RequestOptions | undefined {
  if (opts === undefined || opts === null) return undefined;
  if (typeof opts !== 'object') throw argTypeError(`opts must be an object, got ${typeof opts}`);
  const { signal, flags, priority } = opts;
  if (signal !== undefined && (typeof signal !== 'object' || signal === null || !('aborted' in signal) ||
    typeof signal.addEventListener !== 'function')) {
    throw argTypeError(`opts.signal must be an AbortSignal, got ${signal === null ? 'null' : typeof signal}`);
  }
  if (flags !== undefined) checkCount(flags, 'opts.flags', 0, 0xffffffff);
  return { signal, flags, priority: priority === undefined ? undefined : encodeIoPriority(priority, 'opts.priority').priority };
}

/**
 * Opens a file or block device for asynchronous I/O.
 *
 * @param path - a file or a block device
 * @param flags - Node's flag strings (`'r'`, `'r+'`, `'w+'`, ...) or open(2) flags; O_DIRECT is added unless `direct: false`
 * @throws AioError with `path` and a `hint`: `EINVAL` when the file system
 * refuses O_DIRECT, or the path is a FIFO, a socket or a character device
 * (not a regular file or block device); `EISDIR` for a directory; `ENOENT`,
 * `EACCES` and the rest as open(2) says; `EBADF` for a closed `queue`
 *
 * @example
 * ```ts
 * await using file = await open('/var/lib/db/data', 'r+');
 * const buf = allocAligned(4096, file.alignment.memory);
 * const n = await file.read(buf, 0);
 * ```
 */
export async function open(path: string, flags: string | number = 'r', options: OpenOptions = {}): Promise<AioFile> {
  if (typeof path !== 'string') throw argTypeError(`path must be a string, got ${typeof path}`);
  if (path.length === 0) throw argValueError('path must be a non-empty string');
  if (options === null || typeof options !== 'object') throw argTypeError('options must be an object');
  if (options.direct !== undefined && typeof options.direct !== 'boolean') {
    throw argTypeError(`options.direct must be a boolean, got ${typeof options.direct}`);
  }
  if (options.queue !== undefined && !(options.queue instanceof IoQueue)) {
    throw argTypeError('options.queue must be an IoQueue');
  }
  // Refused now, not at the first read: a file on a closed queue could never do any I/O.
  if (options.queue?.closed) throw new AioError(EBADF, 'open', 'options.queue is closed: pass an open IoQueue', path);
  const requested = parseOpenFlags(flags);
  // O_DIRECT in numeric flags means direct I/O whatever `direct` says: the
  // alignment checks must match what the kernel will enforce.
  const direct = (options.direct ?? true) || (requested & fs.constants.O_DIRECT) !== 0;
  if (options.engine !== undefined && !ENGINE_CHOICES.includes(options.engine)) {
    throw argValueError(`engine must be one of ${ENGINE_CHOICES.map((e) => `'${e}'`).join(', ')}, got ${shown(options.engine)}`);
  }
  // LINUX_AIO_ENGINE stands in for an engine only where the caller chose neither engine nor queue.
  const engineChoice = options.engine ?? (options.queue ? 'auto' : envEngine() ?? 'auto');
  const engine = pickEngine(engineChoice, direct, options.queue);
  if (options.size !== undefined) checkCount(options.size, 'size', 0, Number.MAX_SAFE_INTEGER);
  if (options.registerFile !== undefined && typeof options.registerFile !== 'boolean') {
    throw argTypeError(`options.registerFile must be a boolean, got ${typeof options.registerFile}`);
  }
  // `| 0` turns -0 (which passes the check) into 0: fs.open aborts the
  // process on a mode that is not an int32, and -0 is not one to V8.
  const mode = options.mode === undefined ? 0o666 : checkCount(options.mode, 'mode', 0, 0o7777) | 0;
  const osFlags = requested | (direct ? fs.constants.O_DIRECT : 0);

  await refuseNonFile(path, direct);
  let fd: number;
  try {
    fd = await openAsync(path, osFlags, mode);
  } catch (err) {
    throw openError(err as NodeJS.ErrnoException, path, osFlags, direct);
  }
  try {
    // A directory opens (read-only, buffered) but reads nothing: refuse it
    // here, as Node's fs does for writing.
    const st = fs.fstatSync(fd);
    const notAFile = notAFileError(st, path);
    if (notAFile && (direct || st.isDirectory())) throw notAFile;
    const facts = fileFacts(fd);
    if (options.size !== undefined && options.size > facts.size) {
      if (facts.isBlockDevice) throw argRangeError(`size ${options.size} exceeds the device's ${facts.size} bytes`);
      await fallocate(fd, 0, 0, options.size);
    }
    const alignment = direct ? discoverAlignment(facts) : UNALIGNED;
    const served = engine === 'threadpool' ? threadPool : queueEngine(options.queue ?? IoQueue.default(engine));
    const registered = options.registerFile === true && served.registerFile !== undefined;
    if (registered) served.registerFile!(fd);
    try {
      return new AioFile(fd, path, alignment, direct, facts.isBlockDevice, served, accessRefusals(path, flags, osFlags), registered);
    } catch (err) {
      if (registered) served.unregisterFile?.(fd);
      throw err;
    }
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
}

function toVoid(): void {}

/**
 * Takes `fd` out of `engine`'s file table, for a file dropped without
 * close(). Made out here: a closure made in the constructor would share its
 * context, which holds `this`, and keep the dropped file alive for ever.
 */
function unregisterer(engine: Engine, fd: number): () => void {
  return () => engine.unregisterFile?.(fd);
}

/**
 * The engine for a file. A given queue serves it on its own engine: for
 * 'auto', an io_uring queue serves every file and a Linux AIO one the
 * O_DIRECT ones (buffered files then go to the thread pool, as aio would
 * block on them).
 */
function pickEngine(choice: EngineChoice, direct: boolean, queue: IoQueue | undefined): EngineName {
  if (choice === 'auto') {
    if (!queue) return autoEngine(direct).engine;
    return queue.engine === 'uring' || direct ? queue.engine : 'threadpool';
  }
  if (queue && choice !== 'threadpool' && choice !== queue.engine) {
    throw argValueError(`options.queue drives the ${queue.engine} engine, but engine is '${choice}'`);
  }
  return choice;
}

