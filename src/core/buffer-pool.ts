import { allocAligned, DEFAULT_ALIGNMENT } from './memory.js';
import { argRangeError, argTypeError, argValueError, checkCount, shown } from './validate.js';

/** Options of {@link BufferPool}. */
export interface BufferPoolOptions {
  /** The address alignment of every buffer, a power of two (default 4096). */
  alignment?: number;
  /** The most idle buffers kept for reuse (default 64); buffers released beyond it are left to the garbage collector. */
  maxFree?: number;
}

/**
 * Reusable aligned buffers of one size, for code that does direct I/O in a
 * loop and would otherwise allocate (and zero) a new buffer per request.
 *
 * `acquire()` hands out an idle buffer, or a new one when none is idle;
 * `release(buf)` gives it back. A buffer that is never released is simply
 * collected, so forgetting one leaks nothing; releasing one that is still in
 * use (say, by a request in flight) is the caller's bug, as with any reuse.
 * A reused buffer holds whatever was last written into it.
 *
 * @example
 * ```ts
 * const pool = new BufferPool(1 << 20, { alignment: file.alignment.memory });
 * const buf = pool.acquire();
 * try { await file.read(buf, 0); } finally { pool.release(buf); }
 * ```
 */
export class BufferPool {
  /** The byte length of every buffer. */
  readonly size: number;
  /** The address alignment of every buffer. */
  readonly alignment: number;
  /** The most idle buffers kept. */
  readonly maxFree: number;
  readonly #free: Buffer[] = [];
  /** Buffers of this pool by their memory, so that any view of one can be released. */
  readonly #mine = new WeakMap<ArrayBufferLike, Buffer>();
  readonly #idle = new WeakSet<Buffer>();
  #created = 0;

  /**
   * @param size - bytes per buffer, from 1 to 2^31-1
   * @throws RangeError for a size or alignment out of range
   */
  constructor(size: number, options: BufferPoolOptions = {}) {
    if (options === null || typeof options !== 'object') throw argTypeError(`options must be an object, got ${shown(options)}`);
    this.size = checkCount(size, 'size', 1, 0x7fffffff);
    const alignment = options.alignment ?? DEFAULT_ALIGNMENT;
    if (typeof alignment !== 'number' || !Number.isInteger(alignment) || alignment < 1 || alignment > 1 << 30 ||
      (alignment & (alignment - 1)) !== 0) {
      throw argRangeError(`options.alignment must be a power of two from 1 to 2^30, got ${shown(alignment)}`);
    }
    this.alignment = alignment;
    this.maxFree = checkCount(options.maxFree ?? 64, 'options.maxFree', 0, 1 << 20);
  }

  /** Idle buffers ready for reuse. */
  get free(): number {
    return this.#free.length;
  }

  /** Buffers allocated by this pool so far (reuse does not count). */
  get created(): number {
    return this.#created;
  }

  /** An idle buffer of `size` bytes, or a new zero-filled one. */
  acquire(): Buffer {
    const buf = this.#free.pop();
    if (buf) {
      this.#idle.delete(buf);
      return buf;
    }
    const fresh = allocAligned(this.size, this.alignment);
    this.#mine.set(fresh.buffer, fresh);
    this.#created++;
    return fresh;
  }

  /**
   * Gives back a buffer from {@link acquire}, or any view of one.
   * @throws TypeError when it is not from this pool or is released twice
   */
  release(buf: ArrayBufferView): void {
    if (!ArrayBuffer.isView(buf)) throw argTypeError(`buf must be a Buffer or view from this pool, got ${shown(buf)}`);
    const whole = this.#mine.get(buf.buffer);
    if (!whole) throw argValueError('buf is not from this pool');
    if (this.#idle.has(whole)) throw argValueError('buf was released already');
    if (this.#free.length >= this.maxFree) {
      this.#mine.delete(whole.buffer); // let it go for good: a later release is then refused
      return;
    }
    this.#idle.add(whole);
    this.#free.push(whole);
  }

  /** Drops the idle buffers, for the garbage collector. */
  clear(): void {
    for (const buf of this.#free) {
      this.#idle.delete(buf);
      this.#mine.delete(buf.buffer);
    }
    this.#free.length = 0;
  }
}
