import { Readable } from 'node:stream';
import { allocAligned } from '../core/memory.js';
import { argRangeError, argTypeError, checkCount, checkOffset } from '../core/validate.js';
import type { AioFile } from './aio-file.js';

/** Options of {@link createReadStream}. */
export interface ReadStreamOptions {
  /** First byte to read (default 0); any position, aligned or not. */
  start?: number;
  /** Last byte to read, inclusive as in `fs.createReadStream` (default: to the end of the file). */
  end?: number;
  /** Bytes per request, rounded up to the file's offset alignment (default 1 MiB, at most 64 MiB). */
  chunkSize?: number;
  /** Requests kept in flight ahead of the consumer (default 4); `depth × chunkSize` may not pass 256 MiB. */
  depth?: number;
  /** Destroys the stream with an AbortError. */
  signal?: AbortSignal;
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
  const start = checkOffset(options.start ?? 0, 'start');
  const end = options.end === undefined ? Infinity : checkOffset(options.end, 'end');
  const depth = checkCount(options.depth ?? 4, 'depth', 1, 1024);
  const { memory, offset } = file.alignment;
  const asked = checkCount(options.chunkSize ?? 1 << 20, 'chunkSize', 1, 64 << 20);
  const chunkSize = Math.ceil(asked / offset) * offset;
  if (depth * chunkSize > MAX_READ_AHEAD) {
    throw argRangeError(`depth × chunkSize (${depth} × ${chunkSize}) would hold more than 256 MiB in flight`);
  }
  const signal = options.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw argTypeError('options.signal must be an AbortSignal');
  const stream = Readable.from(chunks(file, start, end, chunkSize, depth, memory, signal), { objectMode: false, signal });
  return stream;
}

async function* chunks(file: AioFile, start: number, end: number, chunkSize: number, depth: number,
  memory: number, signal: AbortSignal | undefined): AsyncGenerator<Buffer> {
  if (end < start) return;
  const inFlight: Promise<Chunk>[] = [];
  let next = start - (start % file.alignment.offset);
  const issue = (): void => {
    const position = next;
    next += chunkSize;
    const buf = allocAligned(chunkSize, memory);
    const read = file.read(buf, position, { signal }).then((n) => ({ buf, position, n }));
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
      if (n < chunkSize) return; // the end of the file
      if (next <= end) issue();
    }
  } finally {
    inFlight.length = 0;
  }
}
