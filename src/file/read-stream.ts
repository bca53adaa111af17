import { Readable } from 'node:stream';
import { allocAligned } from '../core/memory.js';
import { argRangeError, argTypeError, argValueError, checkCount, checkOffset } from '../core/validate.js';
import type { AioFile } from './aio-file.js';
import type { RequestOptions } from '../engine/backend.js';
import { BufferPool } from '../core/buffer-pool.js';
import { encodeIoPriority, type IoPriority } from '../core/ioprio.js';

/** Options of {@link createReadStream}. */
export interface ReadStreamOptions {
  /** First byte to read (default 0); any position, aligned or not. */
  start?: number;
  /** Last byte to read, inclusive as in `fs.createReadStream` (default: to the end of the file). */
  end?: number;
  /** Bytes per request, rounded up to the file's offset alignment (default 1 MiB, at most 64 MiB). */
  chunkSize?: number;
  /** `fs.createReadStream`'s name for the bytes per read: the same as `chunkSize` (give one of the two). */
  highWaterMark?: number;
  /** Requests kept in flight ahead of the consumer (default 4); `depth × chunkSize` may not pass 256 MiB. */
  depth?: number;
  /** Destroys the stream with an AbortError. */
  signal?: AbortSignal;
  /**
   * Reads into buffers of this pool (its size is then the chunk size) instead
   * of new ones. Each chunk is lent: give it back with `pool.release(chunk)`
   * when done with it (a chunk not given back is collected as usual). Buffers
   * the stream reads but never yields go back to the pool by themselves.
   */
  pool?: BufferPool;
  /** The I/O priority of every read (see `RequestOptions.priority`). */
  priority?: IoPriority;
}

/** The most memory one stream may have in flight. */
const MAX_READ_AHEAD = 256 << 20;

interface Chunk {
  buf: Buffer;
  position: number;
  n: number;
}

/**
 * A Readable over `file` that keeps `depth` aligned direct reads in flight
 * ahead of the consumer, and yields exactly the bytes of [start, end]. Chunks
 * are views of aligned memory that the stream does not reuse, so a consumer
 * may keep them. Back-pressure pauses the issuing of new reads; reads already
 * in flight when the stream is destroyed complete in the background (their
 * memory stays pinned until they do) and are discarded.
 */
export function createReadStream(file: AioFile, options: ReadStreamOptions = {}): Readable {
  if (options === null || typeof options !== 'object') throw argTypeError('options must be an object');
  refuseUnsupported(options);
  const start = checkOffset(options.start ?? 0, 'start');
  const end = options.end === undefined ? Infinity : checkOffset(options.end, 'end');
  const depth = checkCount(options.depth ?? 4, 'depth', 1, 1024);
  const { memory, offset } = file.alignment;
  if (options.chunkSize !== undefined && options.highWaterMark !== undefined) {
    throw argValueError('give chunkSize or highWaterMark, not both: they are the same setting');
  }
  const asked = options.chunkSize !== undefined
    ? checkCount(options.chunkSize, 'chunkSize', 1, 64 << 20)
    : checkCount(options.highWaterMark ?? (options.pool instanceof BufferPool ? options.pool.size : 1 << 20), 'highWaterMark', 1, 64 << 20);
  const chunkSize = Math.ceil(asked / offset) * offset;
  if (depth * chunkSize > MAX_READ_AHEAD) {
    throw argRangeError(`depth × chunkSize (${depth} × ${chunkSize}) would hold more than 256 MiB in flight`);
  }
  const signal = options.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw argTypeError('options.signal must be an AbortSignal');
  const pool = options.pool;
  if (pool !== undefined) {
    if (!(pool instanceof BufferPool)) throw argTypeError('options.pool must be a BufferPool');
    if (pool.size !== chunkSize || pool.alignment % memory !== 0) {
      throw argValueError(`the pool's buffers (${pool.size} bytes aligned to ${pool.alignment}) do not fit chunks of ` +
        `${chunkSize} bytes aligned to ${memory} on ${file.path}`);
    }
  }
  const priority = options.priority;
  if (priority !== undefined) encodeIoPriority(priority, 'options.priority');
  const readOpts = { signal, priority };
  const stream = Readable.from(chunks(file, start, end, chunkSize, depth, memory, readOpts, pool), { objectMode: false, signal });
  return stream;
}

const KNOWN = new Set(['start', 'end', 'chunkSize', 'highWaterMark', 'depth', 'signal', 'pool', 'priority']);

/** Why each `fs.createReadStream` option this stream does not honour is refused, rather than ignored. */
const REFUSED: Record<string, string> = {
  encoding: 'chunks are Buffers; decode them with a TextDecoder or node:string_decoder',
  fd: 'the stream reads the AioFile it is made from',
  flags: 'the AioFile was opened with its flags already',
  mode: 'the AioFile was opened already',
  autoClose: 'the stream never closes the AioFile; close it when done',
  emitClose: 'the stream always emits close',
  fs: 'reads go to the AioFile\'s engine',
  objectMode: 'chunks are bytes',
};

function refuseUnsupported(options: object): void {
  for (const [key, value] of Object.entries(options)) {
    if (value === undefined || KNOWN.has(key)) continue;
    const why = REFUSED[key] ?? `the options are ${[...KNOWN].join(', ')}`;
    throw argValueError(`createReadStream does not support the option '${key}': ${why}`);
  }
}

async function* chunks(file: AioFile, start: number, end: number, chunkSize: number, depth: number,
  memory: number, readOpts: RequestOptions, pool: BufferPool | undefined): AsyncGenerator<Buffer> {
  if (end < start) return;
  const inFlight: Promise<Chunk>[] = [];
  let next = start - (start % file.alignment.offset);
  const issue = (): void => {
    const position = next;
    next += chunkSize;
    const buf = pool ? pool.acquire() : allocAligned(chunkSize, memory);
    const read = file.read(buf, position, readOpts).then((n) => ({ buf, position, n }));
    // A read abandoned by a destroyed stream must not become an unhandled rejection.
    read.catch(() => undefined);
    inFlight.push(read);
  };
  try {
    while (inFlight.length < depth && next <= end) issue();
    while (inFlight.length > 0) {
      const { buf, position, n } = await inFlight.shift()!;
      const from = Math.max(0, start - position);
      const to = Math.min(n, end + 1 - position);
      if (to > from) yield buf.subarray(from, to);
      else pool?.release(buf);
      if (n < chunkSize) return; // the end of the file
      if (next <= end) issue();
    }
  } finally {
    // Reads never yielded: their buffers go back once the read has completed
    // (one rejected early by the signal may still be written by the kernel).
    if (pool) for (const read of inFlight) void read.then((c) => pool.release(c.buf), () => undefined);
    inFlight.length = 0;
  }
}
