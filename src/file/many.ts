/**
 * The batch entry point's planning: many reads or writes of one file, given
 * in one call, checked once, and turned into engine requests, where ranges
 * next in the list that touch in the file (and, for reads, ranges at most
 * `maxGap` bytes apart) are merged into one vectored request, as glommio's
 * `read_many` does. A merged read of
 * a gap reads the gap's bytes into scratch memory: that is the read
 * amplification `maxGap` bounds.
 * @internal
 * @module
 */
import { Opcode } from '../core/constants.js';
import { allocAligned } from '../core/memory.js';
import { argTypeError, checkCount, checkOffset, checkView } from '../core/validate.js';
import type { EngineData, EngineOp, RequestOptions } from '../engine/backend.js';
import { misalignment, type Alignment } from './alignment.js';

/** One range of a batch: read into, or write from, `buf` at `position`. */
export interface IoRange {
  buf: ArrayBufferView;
  position: number;
}

/** Options of `AioFile.readMany` and `AioFile.writeMany`. */
export interface ManyOptions extends RequestOptions {
  /**
   * Merge ranges into vectored requests (default true: a range that starts
   * where the one before it in the list ends joins its request).
   * `{ maxGap }` (reads only) also merges ranges at most `maxGap` bytes
   * apart, reading the gap into scratch memory; `false` sends every range as
   * a request of its own.
   */
  coalesce?: boolean | { maxGap?: number } | undefined;
}

/** The most views in one vectored request (IOV_MAX). */
const MAX_IOV = 1024;

/** A batch ready for the engine: one entry per engine request, and how to map results back. */
export interface ManyPlan {
  ops: EngineOp[];
  datas: EngineData[];
  positions: number[];
  /** For each engine request, the index of its first range; undefined when every request is one range. */
  starts: number[] | undefined;
  /** Bytes before each range within its request, gaps included (with `starts`). */
  skip: number[] | undefined;
}

function maxGapOf(c: ManyOptions['coalesce'], write: boolean): number {
  if (c === undefined || c === true) return 0;
  if (c === false) return -1;
  if (typeof c !== 'object' || c === null) throw argTypeError(`opts.coalesce must be a boolean or { maxGap }, got ${c === null ? 'null' : typeof c}`);
  const gap = c.maxGap === undefined ? 0 : checkCount(c.maxGap, 'opts.coalesce.maxGap', 0, 2 ** 30);
  if (write && gap > 0) throw argTypeError('opts.coalesce.maxGap is for reads: a write cannot skip bytes');
  return gap;
}

/**
 * Checks every range (a view, a position, the alignment direct I/O needs)
 * and turns them into engine requests, merging each run of ranges that
 * follow one another in the list and in the file (no sort: the caller's
 * order is the file order it wants merged).
 * @throws TypeError or RangeError for a bad range, AioError EINVAL for a misaligned one
 */
export function planMany(ranges: unknown, coalesce: ManyOptions['coalesce'], write: boolean, align: Alignment | undefined,
  path: string): ManyPlan {
  if (!Array.isArray(ranges)) throw argTypeError(`ranges must be an array of { buf, position }, got ${ranges === null ? 'null' : typeof ranges}`);
  const maxGap = maxGapOf(coalesce, write);
  const n = ranges.length;
  const op = write ? 'write' : 'read';
  const list = ranges as IoRange[];
  for (let i = 0; i < n; i++) {
    const r = list[i];
    if (r === null || typeof r !== 'object') throw argTypeError(`ranges[${i}] must be an object { buf, position }`);
    const buf = r.buf;
    // The full checks (and their messages) only where the quick ones fail.
    if (!ArrayBuffer.isView(buf) || buf.byteLength === 0) checkView(buf, `ranges[${i}].buf`);
    const p = r.position;
    if (typeof p !== 'number' || !Number.isSafeInteger(p) || p < 0) checkOffset(p, `ranges[${i}].position`);
    if (align) {
      const err = misalignment(align, path, op, buf, p, true);
      if (err) throw err;
    }
  }
  const ops: EngineOp[] = [];
  const datas: EngineData[] = [];
  const positions: number[] = [];
  let starts: number[] | undefined;
  let skip: number[] | undefined;
  const one = write ? Opcode.PWRITE : Opcode.PREAD;
  const vec = write ? Opcode.PWRITEV : Opcode.PREADV;
  for (let k = 0; k < n;) {
    const first = list[k]!;
    let end = first.position + first.buf.byteLength;
    let views: ArrayBufferView[] | undefined;
    let j = k + 1;
    for (; maxGap >= 0 && j < n; j++) {
      const next = list[j]!;
      const gap = next.position - end;
      if (gap < 0 || gap > maxGap || next.buf.byteLength === 0) break;
      if ((views ? views.length : 1) + (gap > 0 ? 2 : 1) > MAX_IOV) break;
      if (!views) {
        views = [first.buf];
        if (!starts) {
          // The first merge: every request so far was one range.
          starts = Array.from({ length: ops.length }, (_, q) => q);
          skip = new Array<number>(n).fill(0);
        }
      }
      if (gap > 0) views.push(allocAligned(gap, align?.memory ?? 1));
      skip![j] = skip![j - 1]! + list[j - 1]!.buf.byteLength + gap;
      views.push(next.buf);
      end = next.position + next.buf.byteLength;
    }
    starts?.push(k);
    positions.push(first.position);
    if (views) {
      ops.push(vec);
      datas.push(views);
    } else {
      ops.push(one);
      datas.push(first.buf);
    }
    k = j;
  }
  return { ops, datas, positions, starts, skip };
}

/** The bytes each range got, in the caller's order, from the result of each engine request. */
export function spreadResults(plan: ManyPlan, ranges: readonly IoRange[], results: number[]): number[] {
  const { starts, skip } = plan;
  if (!starts || !skip) return results;
  const out = new Array<number>(ranges.length);
  for (let q = 0; q < starts.length; q++) {
    const to = q + 1 < starts.length ? starts[q + 1]! : ranges.length;
    const total = results[q]!;
    for (let i = starts[q]!; i < to; i++) out[i] = Math.max(0, Math.min(ranges[i]!.buf.byteLength, total - skip[i]!));
  }
  return out;
}

/**
 * Runs one request per entry of `plan` with `one` and settles once all have:
 * with their results, or with the error of the first (in plan order) that
 * failed. For engines without a batch path of their own.
 */
export function eachThenAll(count: number, one: (q: number) => Promise<number>): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const out = new Array<number>(count);
    let left = count;
    let error: unknown;
    let errorAt = Infinity;
    const done = (): void => {
      if (--left > 0) return;
      if (errorAt !== Infinity) reject(error);
      else resolve(out);
    };
    for (let q = 0; q < count; q++) {
      one(q).then((n) => {
        out[q] = n;
        done();
      }, (err: unknown) => {
        if (q < errorAt) {
          errorAt = q;
          error = err;
        }
        done();
      });
    }
  });
}
