/**
 * The model check's write side: writeAt at any alignment and
 * createWriteStream, beside the aligned reads and writes of model.ts.
 *
 * - A writeAt is mostly a few bytes, often in a few hot blocks where many
 *   overlap in flight, and sometimes past the end of the file, which grows.
 * - A write stream writes a run of any length at any start in write() calls
 *   of any size, with a random chunk size and depth; some are aborted before
 *   a write() or right after end(). Its bytesWritten (and the error's) must
 *   be what the model then finds on disk: the run is read back at once.
 */
import type { AioFile } from '../../src/index.js';

/** The generator's draws (an Rng of model.ts). */
export interface Draws {
  int(n: number): number;
  range(lo: number, hi: number): number;
}

/** How far past the base size writeAts and streams may grow a file. */
export const GROWTH = 1 << 20;

/** A writeAt's position and length. */
export function writeAtRange(r: Draws, fileSize: number, unit: number, maxLength: number): [number, number] {
  if (r.int(20) === 0) {
    // Aligned: one write straight from the caller's memory.
    const units = r.range(1, 8);
    return [r.int(fileSize / unit - units) * unit, units * unit];
  }
  const roll = r.int(100);
  const length = roll < 70 ? r.range(1, 300) : roll < 95 ? r.range(1, 3 * unit) : r.range(1, maxLength);
  const place = r.int(100);
  let position: number;
  if (place < 35) position = r.int(4 * unit); // a few hot blocks
  else if (place < 45) position = fileSize - unit + r.int(64 << 10); // at and past the end
  else position = r.int(fileSize - length);
  return [position, length];
}

/** A stream's start, the sizes of its write() calls, and its knobs. */
export interface StreamPlan {
  start: number;
  length: number;
  writes: number[];
  chunkSize: number;
  depth: number;
  flush: boolean;
  /** -1: not aborted; k < writes.length: aborted before write k; writes.length: right after end(). */
  abortAt: number;
}

export function streamPlan(r: Draws, fileSize: number, unit: number): StreamPlan {
  const length = r.int(4) === 0 ? r.range(1, 2 * unit) : r.range(1, 256 << 10);
  const place = r.int(100);
  let start: number;
  if (place < 20) start = fileSize - (64 << 10) + r.int(128 << 10); // across and past the end
  else if (place < 30) start = r.int(4 * unit) * (r.int(2) === 0 ? 1 : unit); // the hot blocks, or aligned
  else start = r.int(fileSize - length);
  const n = r.range(1, Math.min(length, 16));
  const cuts = new Set<number>();
  while (cuts.size < n - 1) cuts.add(r.range(1, length - 1));
  const writes: number[] = [];
  let prev = 0;
  for (const c of [...[...cuts].sort((a, b) => a - b), length]) {
    writes.push(c - prev);
    prev = c;
  }
  const a = r.int(8);
  return {
    start, length, writes,
    chunkSize: r.range(1, 16) * unit,
    depth: r.range(1, 8),
    flush: r.int(4) === 0,
    abortAt: a === 0 ? r.int(writes.length) : a === 1 ? writes.length : -1,
  };
}

/** What a stream did: the bytes it says landed, and its error (an abort's, when asked for). */
export interface StreamOutcome {
  bytesWritten: number;
  error: unknown;
}

/** Writes `data` through a write stream as `plan` says; settles once the stream is closed. */
export async function runStream(file: AioFile, plan: StreamPlan, data: Buffer): Promise<StreamOutcome> {
  const ac = plan.abortAt >= 0 ? new AbortController() : undefined;
  const ws = file.createWriteStream({
    start: plan.start, chunkSize: plan.chunkSize, depth: plan.depth, flush: plan.flush, signal: ac?.signal,
  });
  let error: unknown;
  ws.on('error', (err) => (error ??= err));
  const closed = new Promise<void>((resolve) => ws.once('close', resolve));
  let at = 0;
  for (let k = 0; k < plan.writes.length && !ws.destroyed; k++) {
    if (k === plan.abortAt) {
      ac!.abort();
      break;
    }
    const ok = ws.write(data.subarray(at, at + plan.writes[k]!));
    at += plan.writes[k]!;
    if (!ok) await new Promise<void>((resolve) => {
      const go = (): void => {
        ws.off('drain', go).off('close', go);
        resolve();
      };
      ws.on('drain', go).on('close', go);
    });
  }
  if (!ws.destroyed) {
    ws.end();
    if (plan.abortAt === plan.writes.length) ac!.abort();
  }
  await closed;
  const reported = (error as { bytesWritten?: unknown } | undefined)?.bytesWritten;
  if (error !== undefined && reported !== ws.bytesWritten) {
    throw new Error(`the stream's error says ${String(reported)} bytes landed, its bytesWritten ${ws.bytesWritten}`);
  }
  return { bytesWritten: ws.bytesWritten, error };
}
