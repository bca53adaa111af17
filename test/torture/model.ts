/**
 * The torture model check: a seeded random stream of reads,
 * writes, readv/writev and fsync/fdatasync at random aligned offsets and
 * lengths, writeAts at any alignment and write streams (write-side.ts),
 * across several files, at queue depths from 1 to 256, on Linux AIO or
 * io_uring, checked against a shadow copy of every file kept in memory.
 *
 * The stream of operations is a pure function of the seed: the i-th
 * operation (its file, offset, length, buffer split and the bytes it
 * writes) is the same on every run. What varies from run to run is only the
 * interleaving in the kernel. Operations that overlap one in flight wait
 * for it (a read overlapping a write in flight has no defined result), so
 * every read has exactly one right answer, which the model holds. The one
 * exception is by design: overlapping writeAts run together, and the model
 * applies them in call order, which writeAt promises (locks.ts).
 *
 * writeAts and streams may run past the end of a file, so the model keeps
 * each file's size: an operation that reaches past it holds everything from
 * its start on, as its result depends on the size.
 *
 * Every written 512-byte sector carries a stamp (operation number, file,
 * offset), so a wrong read says where its bytes came from.
 *
 * Used by test/torture-model.test.ts (100,000 operations in `npm test`) and
 * by test/torture/main.ts (`npm run torture -- --ops N --seed S`).
 * @module
 */
import fs from 'node:fs';
import path from 'node:path';
import { AioError, IoQueue, allocAligned, open, type AioFile } from '../../src/index.js';
import { KERNEL_ENGINE } from '../helpers/engine.js';
import { Locks, type LockMode } from './locks.js';
import { GROWTH, runStream, streamPlan, writeAtRange, type StreamPlan } from './write-side.js';

/** What to run. */
export interface TortureOptions {
  /** 32-bit seed: the same seed gives the same operations. */
  seed: number;
  /** How many operations. */
  ops: number;
  /** Folder on a file system with O_DIRECT (not tmpfs). */
  dir: string;
  /** How many files (default 4). */
  files?: number;
  /** Bytes per file (default 8 MiB). */
  fileSize?: number;
  /** Largest request in bytes (default 64 KiB). */
  maxLength?: number;
  /** Operations per phase; each phase has its own queue depth and concurrency (default 5,000). */
  phaseOps?: number;
  /** The kernel engine (default: io_uring when LINUX_AIO_ENGINE=uring, else Linux AIO). */
  engine?: 'aio' | 'uring';
  /** The mix of operations: 'all' (default) or 'writeSide', mostly writeAts and streams. */
  mix?: Mix;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
  /**
   * Called between phases with the file paths, for the self-test that
   * proves a wrong byte on disk is caught (it changes a file behind the
   * model's back).
   */
  betweenPhases?: (phase: number, paths: readonly string[]) => void;
}

/** What was checked. */
export interface TortureResult {
  seed: number;
  ops: number;
  reads: number;
  writes: number;
  readvs: number;
  writevs: number;
  syncs: number;
  writeAts: number;
  streams: number;
  /** Streams aborted before they finished (their bytesWritten checked against the disk). */
  abortedStreams: number;
  /** Reads whose AbortSignal fired: the promise rejected with AbortError, or the read had already finished. */
  aborted: number;
  /** Reads that ended at or past the end of the file (short counts checked). */
  shortReads: number;
  bytesWritten: number;
  /** Bytes of reads compared with the model. */
  bytesVerified: number;
  /** Bytes compared with the model after the last phase, read back through node:fs. */
  finalBytesVerified: number;
  /** Operations that had to wait for an overlapping one in flight. */
  stalls: number;
  /** Most operations in flight at once. */
  maxInFlight: number;
  /** Requests the kernel answered EAGAIN under the engine's RWF_NOWAIT, retried on the thread pool. */
  fellBack: number;
  phases: PhaseSpec[];
  engine: 'aio' | 'uring';
  ms: number;
}

/** The error a wrong result throws: it names the seed and the operation. */
export class TortureFailure extends Error {
  constructor(message: string, readonly seed: number, readonly opIndex: number) {
    super(`${message}\n  seed ${hex(seed)}, operation #${opIndex}; replay: npm run torture -- --seed ${hex(seed)} --ops <N>`);
    this.name = 'TortureFailure';
  }
}

export function hex(seed: number): string {
  return `0x${(seed >>> 0).toString(16).padStart(8, '0')}`;
}

/** Parses a seed written in decimal or 0x hex. */
export function parseSeed(s: string): number {
  const n = Number(s);
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new RangeError(`seed must be a 32-bit unsigned integer, got ${s}`);
  return n >>> 0;
}

/** sfc32: a small, fast, seedable generator. */
export class Rng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;
  constructor(seed: number) {
    this.#a = 0x9e3779b9;
    this.#b = 0x243f6a88;
    this.#c = 0xb7e15162;
    this.#d = seed >>> 0;
    for (let i = 0; i < 15; i++) this.u32();
  }
  u32(): number {
    const a = this.#a, b = this.#b, c = this.#c, d = this.#d;
    const t = (((a + b) | 0) + d) | 0;
    this.#d = (d + 1) | 0;
    this.#a = b ^ (b >>> 9);
    this.#b = (c + (c << 3)) | 0;
    const r = (c << 21) | (c >>> 11);
    this.#c = (r + t) | 0;
    return t >>> 0;
  }
  /** 0 <= x < 1 */
  float(): number {
    return this.u32() / 4294967296;
  }
  /** 0 <= x < n */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }
  /** lo <= x <= hi */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }
}

export type OpKind = 'read' | 'write' | 'readv' | 'writev' | 'writeAt' | 'stream' | 'fsync' | 'fdatasync';

/** The mixes of operations: the upper bound of each kind's roll of 1,000, in OpKind order. */
const MIXES = {
  all: [360, 650, 780, 930, 985, 990, 995, 1000],
  writeSide: [250, 350, 400, 450, 900, 985, 992, 1000],
} as const;
export type Mix = keyof typeof MIXES;
const KINDS: readonly OpKind[] = ['read', 'write', 'readv', 'writev', 'writeAt', 'stream', 'fsync', 'fdatasync'];

/** One operation of the stream. */
export interface Op {
  index: number;
  kind: OpKind;
  file: number;
  /** Byte offset (aligned, but for writeAt and stream). */
  offset: number;
  /** Bytes asked for (aligned, but for writeAt and stream). */
  length: number;
  /** Vectored: the byte length of each buffer, in order. Plain: one entry. */
  pieces: number[];
  /** The view type each piece is handed over as. */
  view: 'buffer' | 'u32' | 'f64' | 'dataview';
  /** Read only: abort it ('queued': before it reaches the kernel; 'flight': after). */
  abort: 'none' | 'queued' | 'flight';
  /** Stream only: how it writes. */
  stream?: StreamPlan;
}

/** The knobs of one phase. */
export interface PhaseSpec {
  /** IoQueue depth. */
  depth: number;
  /** Operations the generator keeps outstanding (may exceed depth: the rest wait in the queue's FIFO). */
  concurrency: number;
  reap: 'auto' | 'syscall';
  /** One queue for all files, or one per file. */
  queues: 'shared' | 'per-file';
}

const SECTOR = 512;
const MAX_DEPTH = 256;
const MAX_CONCURRENCY = 512;

/**
 * The phase parameters for phase `p`. Phase 0 is always the deepest and
 * phase 1 always shallow, reaped with io_getevents, with a queue per file:
 * left to the draw, 19 phases miss one of those about once in 250 seeds.
 */
export function phaseSpec(rng: Rng, p: number): PhaseSpec {
  if (p === 0) return { depth: MAX_DEPTH, concurrency: MAX_CONCURRENCY, reap: 'auto', queues: 'shared' };
  if (p === 1) {
    const depth = 1 + rng.int(4);
    return { depth, concurrency: depth * 2, reap: 'syscall', queues: 'per-file' };
  }
  const depth = Math.max(1, Math.min(MAX_DEPTH, Math.round(2 ** (rng.float() * 8))));
  const factor = [0.5, 1, 1, 2, 4][rng.int(5)]!;
  const concurrency = Math.max(1, Math.min(MAX_CONCURRENCY, Math.round(depth * factor)));
  return {
    depth,
    concurrency,
    reap: rng.int(4) === 0 ? 'syscall' : 'auto',
    queues: rng.int(4) === 0 ? 'per-file' : 'shared',
  };
}

/**
 * The operation generator: op `i` depends only on the seed and `i`'s
 * predecessors, never on timing.
 */
export class OpStream {
  readonly #rng: Rng;
  readonly #files: number;
  readonly #fileSize: number;
  readonly #unit: number;
  readonly #maxUnits: number;
  readonly #mix: readonly number[];
  #next = 0;

  constructor(seed: number, files: number, fileSize: number, unit: number, maxLength: number, mix: Mix = 'all') {
    this.#rng = new Rng(seed ^ 0x5eed0f05);
    this.#files = files;
    this.#fileSize = fileSize;
    this.#unit = unit;
    this.#maxUnits = Math.max(1, Math.floor(maxLength / unit));
    this.#mix = MIXES[mix];
  }

  #units(): number {
    const r = this.#rng, max = this.#maxUnits;
    // Mostly small requests, some middling, a few as large as allowed.
    const roll = r.int(100);
    if (roll < 60) return r.range(1, Math.min(max, 8));
    if (roll < 90) return r.range(1, Math.min(max, 32));
    return r.range(1, max);
  }

  next(): Op {
    const r = this.#rng;
    const index = this.#next++;
    const roll = r.int(1000);
    const kind = KINDS[this.#mix.findIndex((bound) => roll < bound)]!;
    const file = r.int(this.#files);
    if (kind === 'fsync' || kind === 'fdatasync') {
      return { index, kind, file, offset: 0, length: 0, pieces: [], view: 'buffer', abort: 'none' };
    }
    const unit = this.#unit;
    if (kind === 'writeAt') {
      const [offset, length] = writeAtRange(r, this.#fileSize, unit, this.#maxUnits * unit);
      return { index, kind, file, offset, length, pieces: [length], view: 'buffer', abort: 'none' };
    }
    if (kind === 'stream') {
      const stream = streamPlan(r, this.#fileSize, unit);
      return { index, kind, file, offset: stream.start, length: stream.length, pieces: stream.writes, view: 'buffer', abort: 'none', stream };
    }
    const fileUnits = this.#fileSize / unit;
    const units = Math.min(this.#units(), fileUnits);
    let startUnit: number;
    const place = r.int(100);
    if (place < 5) {
      // A hot spot at the start of each file: the same blocks over and over.
      startUnit = r.int(Math.max(1, Math.min(fileUnits - units + 1, 1024)));
    } else if (place < 8 && (kind === 'read' || kind === 'readv')) {
      // A read that runs into or past the end of the file: a short count.
      startUnit = fileUnits - units + r.range(1, units);
    } else {
      startUnit = r.int(fileUnits - units + 1);
    }
    let pieces: number[];
    if (kind === 'readv' || kind === 'writev') {
      const n = r.range(1, Math.min(units, 8));
      // Split `units` into n positive parts.
      const cuts = new Set<number>();
      while (cuts.size < n - 1) cuts.add(r.range(1, units - 1));
      const sorted = [...cuts].sort((a, b) => a - b);
      pieces = [];
      let prev = 0;
      for (const c of [...sorted, units]) {
        pieces.push((c - prev) * unit);
        prev = c;
      }
    } else {
      pieces = [units * unit];
    }
    const v = r.int(20);
    const view: Op['view'] = v < 17 ? 'buffer' : v === 17 ? 'u32' : v === 18 ? 'f64' : 'dataview';
    let abort: Op['abort'] = 'none';
    if (kind === 'read') {
      const a = r.int(100);
      abort = a === 0 ? 'queued' : a === 1 ? 'flight' : 'none';
    }
    return { index, kind, file, offset: startUnit * unit, length: units * unit, pieces, view, abort };
  }
}

/** Writes the stamp of operation `opIndex` into `bytes`, which lands at `offset` of `file`. */
export function stamp(bytes: Uint8Array, opIndex: number, file: number, offset: number): void {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let s = 0; s < bytes.byteLength; s += SECTOR) {
    const abs = offset + s;
    const fill = (opIndex * 131 + (abs / SECTOR) * 7 + file * 29 + 1) & 0xff;
    bytes.fill(fill, s, s + SECTOR);
    dv.setUint32(s, opIndex + 1, true);
    dv.setUint32(s + 4, file, true);
    dv.setFloat64(s + 8, abs, true);
  }
}

/** Describes whose bytes a 512-byte sector holds, for failure messages. */
function describeSector(bytes: Uint8Array, at: number): string {
  const s = at - (at % SECTOR);
  if (s + 16 > bytes.byteLength) return 'a partial sector';
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const op = dv.getUint32(s, true);
  if (op === 0) return 'no stamp (never written: zeros, or foreign bytes)';
  return `the stamp of operation #${op - 1}, file ${dv.getUint32(s + 4, true)}, offset ${dv.getFloat64(s + 8, true)}`;
}

function asView(kind: Op['view'], bytes: Buffer): ArrayBufferView {
  switch (kind) {
    case 'u32':
      return new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
    case 'f64':
      return new Float64Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 8);
    case 'dataview':
      return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    default:
      return bytes;
  }
}

/**
 * The bytes `op` writes at [offset, offset + length), any alignment: the
 * stamps of the 512-byte sectors around the run, cut to it, so every whole
 * sector still says whose it is.
 */
function runBytes(op: Op, memAlign: number): Buffer {
  const from = op.offset - (op.offset % SECTOR);
  const to = Math.ceil((op.offset + op.length) / SECTOR) * SECTOR;
  const aligned = op.offset % SECTOR === 0 && op.length % SECTOR === 0;
  // Aligned runs come in aligned memory, so that writeAt's direct path runs too.
  const sectors = aligned ? allocAligned(to - from, memAlign) : Buffer.alloc(to - from + 1).subarray(1);
  stamp(sectors, op.index, op.file, from);
  return sectors.subarray(op.offset - from, op.offset - from + op.length);
}

function isWrite(kind: OpKind): boolean {
  return kind === 'write' || kind === 'writev' || kind === 'writeAt' || kind === 'stream';
}

function lockMode(kind: OpKind): LockMode {
  return kind === 'writeAt' ? 'writeAt' : isWrite(kind) ? 'write' : 'read';
}

/**
 * The bytes [start, end) `op` holds while the file is `size` bytes long:
 * the aligned blocks it touches (writeAt and streams rewrite whole blocks),
 * and everything to `capacity` when it reaches past the end, as its result
 * then depends on the size or changes it.
 */
function lockRange(op: Op, unit: number, size: number, capacity: number): [number, number] {
  const start = op.offset - (op.offset % unit);
  const end = Math.ceil((op.offset + op.length) / unit) * unit;
  return [Math.min(start, capacity), end > size ? capacity : end];
}

export async function runTorture(options: TortureOptions): Promise<TortureResult> {
  const seed = options.seed >>> 0;
  const nFiles = options.files ?? 4;
  const fileSize = options.fileSize ?? 8 << 20;
  const maxLength = options.maxLength ?? 64 << 10;
  const phaseOps = options.phaseOps ?? 5000;
  const log = options.log ?? (() => {});
  const engine = options.engine ?? KERNEL_ENGINE;
  const t0 = performance.now();

  const paths = Array.from({ length: nFiles }, (_, i) => path.join(options.dir, `torture-${hex(seed)}-${process.pid}-${i}`));
  // Files grow only through writeAts and streams, by at most GROWTH; past
  // its size a model holds zeros.
  const capacity = fileSize + GROWTH;
  const models = paths.map(() => Buffer.alloc(capacity));
  const sizes = paths.map(() => fileSize);
  // The least size each file may have on disk now: `sizes` less the growth
  // of writeAts in flight. Reaching past it is what makes a range depend on
  // the size.
  const lows = paths.map(() => fileSize);
  const result: TortureResult = {
    seed, ops: 0, reads: 0, writes: 0, readvs: 0, writevs: 0, syncs: 0, writeAts: 0, streams: 0, abortedStreams: 0,
    aborted: 0, shortReads: 0, bytesWritten: 0, bytesVerified: 0, finalBytesVerified: 0, stalls: 0, maxInFlight: 0,
    fellBack: 0, phases: [], engine, ms: 0,
  };

  // Create the files (preallocated: zeros in the model) and learn the alignment.
  let unit = SECTOR;
  let memAlign = SECTOR;
  for (const p of paths) {
    const f = await open(p, 'w+', { size: fileSize, engine });
    unit = Math.max(unit, f.alignment.offset);
    memAlign = Math.max(memAlign, f.alignment.memory);
    await f.close();
  }
  if (fileSize % unit !== 0) throw new RangeError(`fileSize ${fileSize} is not a multiple of the alignment ${unit}`);

  const stream = new OpStream(seed, nFiles, fileSize, unit, Math.max(unit, maxLength), options.mix);
  const phaseRng = new Rng(seed ^ 0x9a5e5eed);
  const locks = paths.map(() => new Locks(capacity, unit));
  const fail = (msg: string, op: Op): never => {
    throw new TortureFailure(`${op.kind} of ${op.length} bytes at ${op.offset} in file ${op.file}: ${msg}`, seed, op.index);
  };
  const failedOp = (op: Op, err: unknown): TortureFailure => {
    const detail = err instanceof AioError ? `${err.code} from ${err.syscall}${err.hint ? ` (${err.hint})` : ''}` : String(err);
    return new TortureFailure(`${op.kind} of ${op.length} bytes at ${op.offset} in file ${op.file} failed: ${detail}`, seed, op.index);
  };
  /** Fails `op` at the first byte where `got`, read at `at`, differs from the model's `want`. */
  const compare = (got: Buffer, want: Buffer, at: number, op: Op): void => {
    if (got.equals(want)) return;
    let k = 0;
    while (got[k] === want[k]) k++;
    fail(`byte ${at + k} of the file reads ${got[k]}, the model says ${want[k]}; the sector read holds ${describeSector(got, k)}, the model's holds ${describeSector(want, k)}`, op);
  };

  let lastProgress = performance.now();
  let watchdogError: Error | undefined;

  try {
    for (let phase = 0, done = 0; done < options.ops; phase++) {
      const spec = phaseSpec(phaseRng, phase);
      // io_uring completions are always read in user space.
      if (engine === 'uring') spec.reap = 'auto';
      const count = Math.min(phaseOps, options.ops - done);
      result.phases.push(spec);
      const queueOptions = { depth: spec.depth, reap: spec.reap, engine };
      const queues = spec.queues === 'shared' ? [new IoQueue(queueOptions)] : paths.map(() => new IoQueue(queueOptions));
      const files: AioFile[] = [];
      for (let i = 0; i < nFiles; i++) {
        files.push(await open(paths[i]!, 'r+', { engine, queue: queues[spec.queues === 'shared' ? 0 : i]! }));
      }
      const tPhase = performance.now();
      log(`phase ${phase}: ops ${done}..${done + count - 1}, depth ${spec.depth}, concurrency ${spec.concurrency}, reap ${spec.reap}, ${spec.queues} queue${spec.queues === 'shared' ? '' : 's'}`);

      await new Promise<void>((resolve, reject) => {
        let issued = 0;
        let settled = 0;
        let outstanding = 0;
        let failed = false;
        const watchdog = setInterval(() => {
          if (performance.now() - lastProgress > 30_000) {
            failed = true;
            clearInterval(watchdog);
            watchdogError = new TortureFailure(
              `no completion for 30 s with ${outstanding} operations outstanding (phase ${phase}, depth ${spec.depth}): a request was lost`,
              seed, -1);
            reject(watchdogError);
          }
        }, 1000);

        const finishOne = (): void => {
          outstanding--;
          settled++;
          lastProgress = performance.now();
          if (settled === count) {
            clearInterval(watchdog);
            resolve();
          } else {
            pump();
          }
        };
        const onError = (err: unknown): void => {
          if (failed) return;
          failed = true;
          clearInterval(watchdog);
          reject(err);
        };

        const start = (op: Op): void => {
          const file = files[op.file]!;
          const model = models[op.file]!;
          const lock = locks[op.file]!;
          const w = isWrite(op.kind);
          result.ops++;
          if (op.kind === 'fsync' || op.kind === 'fdatasync') {
            result.syncs++;
            outstanding++;
            (op.kind === 'fsync' ? file.fsync() : file.fdatasync()).then(finishOne, (err) => onError(
              new TortureFailure(`${op.kind} of file ${op.file} failed: ${String(err)}`, seed, op.index)));
            return;
          }
          if (op.kind === 'writeAt' || op.kind === 'stream') {
            startWriteSide(op, file, model, lock);
            return;
          }
          // Buffers: one aligned allocation per piece, or pieces cut from one.
          const raw: Buffer[] = [];
          if (op.pieces.length > 1 && op.index % 2 === 0 && memAlign <= unit) {
            const whole = allocAligned(op.length, memAlign);
            let at = 0;
            for (const len of op.pieces) {
              raw.push(whole.subarray(at, at + len));
              at += len;
            }
          } else {
            for (const len of op.pieces) raw.push(allocAligned(len, memAlign));
          }
          if (w) {
            let at = op.offset;
            for (const b of raw) {
              stamp(b, op.index, op.file, at);
              at += b.length;
            }
          } else {
            for (const b of raw) b.fill(0xee);
          }
          const views = raw.map((b) => asView(op.view, b));
          const mode = lockMode(op.kind);
          const [ls, le] = lockRange(op, unit, lows[op.file]!, capacity);
          lock.take(ls, le, mode);
          outstanding++;
          result.maxInFlight = Math.max(result.maxInFlight, outstanding);

          let signal: AbortSignal | undefined;
          let ac: AbortController | undefined;
          if (op.abort !== 'none') {
            ac = new AbortController();
            signal = ac.signal;
          }
          let p: Promise<number>;
          switch (op.kind) {
            case 'read': p = file.read(views[0]!, op.offset, { signal }); result.reads++; break;
            case 'write': p = file.write(views[0]!, op.offset); result.writes++; break;
            case 'readv': p = file.readv(views, op.offset); result.readvs++; break;
            default: p = file.writev(views, op.offset); result.writevs++; break;
          }
          if (ac) {
            if (op.abort === 'queued') queueMicrotask(() => ac!.abort());
            else setImmediate(() => ac!.abort());
          }
          p.then((n) => {
            if (failed) return;
            lock.drop(ls, le, mode);
            if (w) {
              if (n !== op.length) fail(`wrote ${n} bytes, expected ${op.length}`, op);
              let at = op.offset;
              for (const b of raw) {
                b.copy(model, at);
                at += b.length;
              }
              result.bytesWritten += n;
            } else {
              const size = sizes[op.file]!;
              const expected = Math.max(0, Math.min(op.length, size - op.offset));
              if (n !== expected) fail(`read ${n} bytes, expected ${expected} (file size ${size})`, op);
              if (expected < op.length) result.shortReads++;
              if (op.abort === 'queued') fail('a read aborted before it reached the kernel resolved', op);
              let at = op.offset;
              let left = n;
              for (const b of raw) {
                const len = Math.min(left, b.length);
                if (len <= 0) break;
                compare(b.subarray(0, len), model.subarray(at, at + len), at, op);
                result.bytesVerified += len;
                at += len;
                left -= len;
              }
            }
            finishOne();
          }, (err: unknown) => {
            if (failed) return;
            lock.drop(ls, le, mode);
            if (op.abort !== 'none' && err instanceof Error && err.name === 'AbortError') {
              result.aborted++;
              finishOne();
              return;
            }
            onError(failedOp(op, err));
          }).catch(onError);
        };

        /**
         * A writeAt, applied to the model when it is called (overlapping
         * writeAts land in call order), or a write stream, applied as far as
         * its bytesWritten says and read back at once within its range.
         */
        const startWriteSide = (op: Op, file: AioFile, model: Buffer, lock: Locks): void => {
          const data = runBytes(op, memAlign);
          const mode = lockMode(op.kind);
          const [ls, le] = lockRange(op, unit, lows[op.file]!, capacity);
          lock.take(ls, le, mode);
          outstanding++;
          result.maxInFlight = Math.max(result.maxInFlight, outstanding);
          const done = (): void => {
            lock.drop(ls, le, mode);
            finishOne();
          };
          if (op.kind === 'writeAt') {
            result.writeAts++;
            data.copy(model, op.offset);
            sizes[op.file] = Math.max(sizes[op.file]!, op.offset + op.length);
            file.writeAt(op.offset, data).then((n) => {
              if (failed) return;
              if (n !== op.length) fail(`writeAt resolved to ${n}, expected ${op.length}`, op);
              lows[op.file] = Math.max(lows[op.file]!, op.offset + op.length);
              result.bytesWritten += n;
              done();
            }, (err: unknown) => onError(failedOp(op, err))).catch(onError);
            return;
          }
          result.streams++;
          const plan = op.stream!;
          runStream(file, plan, data).then(async ({ bytesWritten, error }) => {
            if (failed) return;
            if (error !== undefined) {
              if (plan.abortAt < 0 || !(error instanceof Error) || error.name !== 'AbortError') throw failedOp(op, error);
              result.abortedStreams++;
            } else if (bytesWritten !== op.length) {
              fail(`the stream finished with bytesWritten ${bytesWritten}`, op);
            }
            if (bytesWritten > op.length) fail(`bytesWritten ${bytesWritten} is more than was written`, op);
            data.copy(model, op.offset, 0, bytesWritten);
            if (bytesWritten > 0) {
              // Each bound by itself: `sizes` already counts the growth of
              // writeAts still in flight elsewhere in the file, `lows` not.
              sizes[op.file] = Math.max(sizes[op.file]!, op.offset + bytesWritten);
              lows[op.file] = Math.max(lows[op.file]!, op.offset + bytesWritten);
            }
            result.bytesWritten += bytesWritten;
            // What it says landed did, and nothing after it: the range it holds, read back.
            const to = le < capacity ? le : Math.min(capacity, Math.ceil((op.offset + op.length) / unit) * unit + unit);
            const got = await file.readAt(ls, to - ls);
            const want = model.subarray(ls, Math.max(ls, Math.min(to, sizes[op.file]!)));
            if (got.length !== want.length) {
              fail(`after the stream (bytesWritten ${bytesWritten}${error ? ', aborted' : ''}) the file ends at ${ls + got.length}, the model says ${ls + want.length}`, op);
            }
            compare(got, want, ls, op);
            result.bytesVerified += got.length;
            done();
          }).catch((err: unknown) => onError(err instanceof TortureFailure ? err : failedOp(op, err)));
        };

        // Operations that overlap one in flight wait here, in order; later
        // operations that overlap neither those in flight nor those waiting
        // go ahead of them (their order cannot change any result).
        const parked: Op[] = [];
        const overlaps = (a: Op, b: Op): boolean => {
          if (a.file !== b.file || a.length === 0 || b.length === 0 || !(isWrite(a.kind) || isWrite(b.kind))) return false;
          const size = lows[a.file]!;
          const [as, ae] = lockRange(a, unit, size, capacity);
          const [bs, be] = lockRange(b, unit, size, capacity);
          return as < be && bs < ae;
        };
        const blocked = (op: Op, upTo: number): boolean => {
          if (op.kind === 'fsync' || op.kind === 'fdatasync') return false;
          const [ls, le] = lockRange(op, unit, lows[op.file]!, capacity);
          if (ls < le && !locks[op.file]!.free(ls, le, lockMode(op.kind))) return true;
          for (let k = 0; k < upTo; k++) if (overlaps(parked[k]!, op)) return true;
          return false;
        };
        const launch = (op: Op): void => {
          try {
            start(op);
          } catch (err) {
            onError(err);
          }
        };
        const pump = (): void => {
          for (let k = 0; k < parked.length && !failed && outstanding < spec.concurrency; k++) {
            if (!blocked(parked[k]!, k)) {
              launch(parked.splice(k, 1)[0]!);
              k--;
            }
          }
          while (!failed && outstanding < spec.concurrency && issued < count) {
            if (parked.length >= 64) return;
            const op = stream.next();
            issued++;
            if (blocked(op, parked.length)) {
              parked.push(op);
              result.stalls++;
            } else {
              launch(op);
            }
          }
        };
        pump();
      });

      for (const f of files) await f.close();
      for (const q of queues) {
        const s = q.stats();
        if (s.inFlight !== 0 || s.queued !== 0 || s.completed !== s.submitted) {
          throw new TortureFailure(`queue counters after phase ${phase}: ${JSON.stringify(s)}`, seed, -1);
        }
        result.fellBack += s.fellBack;
        await q.close();
      }
      done += count;
      options.betweenPhases?.(phase, paths);
      log(`phase ${phase}: done in ${((performance.now() - tPhase) / 1000).toFixed(2)} s; ${result.ops} operations, ${(result.bytesVerified / 1048576).toFixed(1)} MiB of reads checked`);
    }

    // What is on disk, read back through node:fs.
    for (let i = 0; i < nFiles; i++) {
      const disk = fs.readFileSync(paths[i]!);
      if (disk.length !== sizes[i]) throw new TortureFailure(`file ${i} is ${disk.length} bytes, the model says ${sizes[i]}`, seed, -1);
      const model = models[i]!.subarray(0, sizes[i]);
      if (!disk.equals(model)) {
        let k = 0;
        while (disk[k] === model[k]) k++;
        throw new TortureFailure(`after the run, byte ${k} of file ${i} is ${disk[k]}, the model says ${model[k]}; the disk's sector holds ${describeSector(disk, k)}, the model's ${describeSector(model, k)}`, seed, -1);
      }
      result.finalBytesVerified += disk.length;
    }
  } finally {
    for (const p of paths) fs.rmSync(p, { force: true });
  }
  if (watchdogError) throw watchdogError;
  result.ms = performance.now() - t0;
  return result;
}
