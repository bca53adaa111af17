/**
 * One job thread: keeps `iodepth` requests in flight against the target
 * until the schedule says stop, and counts what completes inside the
 * measured window. Each in-flight slot has its own aligned buffer and its own
 * completion callback, made once, so that the loop allocates nothing per I/O
 * beyond the engine's own promise and its `then`.
 * @internal
 * @module
 */
import crypto from 'node:crypto';
import { createHistogram, monitorEventLoopDelay, performance, type RecordableHistogram } from 'node:perf_hooks';
import { allocAligned } from '../core/memory.js';
import { openDriver, type Driver } from './engines.js';
import { MANY_ENGINES, type JobSpec } from './job.js';

/** Absolute times (ms since the epoch, sub-ms precision) shared by every thread of a run. */
export interface Schedule {
  start: number;
  rampEnd: number;
  end: number;
}

/** What one job thread counted in the window. */
export interface ThreadOutcome {
  ios: number;
  readIos: number;
  writeIos: number;
  bytes: number;
  /** Completion latency of the window's I/Os, ns. */
  hist: RecordableHistogram;
  /** io_submit calls and reaps in the window (engine aio). */
  submitCalls: number | null;
  reapCalls: number | null;
  reapMode: 'ring' | 'syscall' | null;
  eldP99Ms: number;
  eldMaxMs: number;
}

/** Called at the two edges of the window, from the same timer callback that moves the counters. */
export interface WindowHooks {
  onWindowStart?(): void;
  onWindowEnd?(): void;
}

/**
 * The event-loop delay monitor's timer period. Its histogram holds the time
 * between timer callbacks, period included, so the delay is a sample less
 * the period.
 */
const ELD_RESOLUTION_MS = 10;

/** Milliseconds since the epoch, with performance.now()'s precision; the same clock in every thread. */
export const epochNow = (): number => performance.timeOrigin + performance.now();

/** xorshift32: cheap, and good enough to pick blocks. */
function makeRandom(seed: number): () => number {
  let x = seed >>> 0 || 0x9e3779b9;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}

/** A job thread with its target open and its buffers made, ready to run. */
export class PreparedJob {
  readonly #spec: JobSpec;
  readonly #driver: Driver;
  readonly #seed: number;

  private constructor(spec: JobSpec, driver: Driver, seed: number) {
    this.#spec = spec;
    this.#driver = driver;
    this.#seed = seed;
  }

  /** Opens the target for `spec.engine`; `jobIndex` varies the random offsets between threads. */
  static async prepare(spec: JobSpec, jobIndex: number): Promise<PreparedJob> {
    const driver = await openDriver(spec);
    return new PreparedJob(spec, driver, (0x2545f491 * (jobIndex + 1) + process.pid) >>> 0);
  }

  /** Runs the job to `schedule.end`, waits for the requests in flight, closes the target. */
  run(schedule: Schedule, hooks: WindowHooks = {}): Promise<ThreadOutcome> {
    const spec = this.#spec;
    const driver = this.#driver;
    const { bs, iodepth, rw } = spec;
    const blocks = Math.floor(spec.size / bs);
    const random = makeRandom(this.#seed);
    const isRandom = rw === 'randread' || rw === 'randwrite' || rw === 'randrw';
    const readShare = rw === 'randread' || rw === 'read' ? 1 : rw === 'randrw' ? spec.rwmixread / 100 : 0;
    let cursor = Math.floor(random() * blocks);

    const hist = createHistogram();
    const eld = monitorEventLoopDelay({ resolution: ELD_RESOLUTION_MS });
    let measuring = false;
    let stopping = false;
    let active = 0;
    let ios = 0;
    let readIos = 0;
    let failure: unknown;
    let statsAtStart = driver.stats();
    let statsAtEnd = statsAtStart;

    const started = new Float64Array(iodepth);
    const isWrite = new Uint8Array(iodepth);
    const bufs = driver.buffers?.(iodepth, bs) ?? Array.from({ length: iodepth }, () => allocAligned(bs, driver.memoryAlignment));
    if (readShare < 1) for (const b of bufs) crypto.randomFillSync(b);

    return new Promise<ThreadOutcome>((resolve, reject) => {
      const timers: NodeJS.Timeout[] = [];
      const finish = (): void => {
        for (const t of timers) clearTimeout(t);
        eld.disable();
        driver.close().then(() => {
          if (failure !== undefined) return reject(failure);
          const reads = readIos;
          const submitCalls = statsAtEnd && statsAtStart ? statsAtEnd.submitCalls - statsAtStart.submitCalls : null;
          const reapCalls = statsAtEnd && statsAtStart ? statsAtEnd.reapCalls - statsAtStart.reapCalls : null;
          resolve({
            ios, readIos: reads, writeIos: ios - reads, bytes: ios * bs, hist,
            submitCalls, reapCalls, reapMode: statsAtEnd?.reapMode ?? null,
            eldP99Ms: eld.count > 0 ? Math.max(0, eld.percentile(99) / 1e6 - ELD_RESOLUTION_MS) : 0,
            eldMaxMs: eld.count > 0 ? Math.max(0, eld.max / 1e6 - ELD_RESOLUTION_MS) : 0,
          });
        }, reject);
      };
      const fail = (err: unknown): void => {
        failure ??= err;
        stopping = true;
        if (--active === 0) finish();
      };
      const nextBlock = (): number => {
        if (isRandom) return Math.floor(random() * blocks);
        const block = cursor;
        if (++cursor >= blocks) cursor = 0;
        return block;
      };
      const issue = (i: number): void => {
        const block = nextBlock();
        const write = readShare === 1 ? false : readShare === 0 ? true : random() >= readShare;
        isWrite[i] = write ? 1 : 0;
        started[i] = performance.now();
        const p = write ? driver.write(bufs[i]!, block * bs) : driver.read(bufs[i]!, block * bs);
        p.then(done[i], fail);
      };
      const done: (() => void)[] = [];
      for (let i = 0; i < iodepth; i++) {
        const slot = i;
        done.push(() => {
          if (measuring) {
            const ns = Math.round((performance.now() - started[slot]!) * 1e6);
            hist.record(ns > 0 ? ns : 1);
            ios++;
            if (isWrite[slot] === 0) readIos++;
          }
          if (!stopping) issue(slot);
          else if (--active === 0) finish();
        });
      }

      // aio-many, uring-many: lanes of up to 16 ranges, each lane one
      // readMany/writeMany call, re-issued whole when it settles; `iodepth`
      // ranges in flight.
      const per = Math.min(16, iodepth);
      const lanes = driver.many && MANY_ENGINES.includes(spec.engine) ? Math.ceil(iodepth / per) : 0;
      const laneRanges: { buf: Buffer; position: number }[][] = [];
      const laneWrite = new Uint8Array(lanes);
      const laneStarted = new Float64Array(lanes);
      const laneDone: (() => void)[] = [];
      const issueLane = (l: number): void => {
        const ranges = laneRanges[l]!;
        for (const r of ranges) r.position = nextBlock() * bs;
        const write = readShare === 1 ? false : readShare === 0 ? true : random() >= readShare;
        laneWrite[l] = write ? 1 : 0;
        laneStarted[l] = performance.now();
        driver.many!(ranges, write).then(laneDone[l], fail);
      };
      for (let l = 0; l < lanes; l++) {
        const lane = l;
        laneRanges.push(bufs.slice(l * per, Math.min(iodepth, (l + 1) * per)).map((buf) => ({ buf, position: 0 })));
        laneDone.push(() => {
          const k = laneRanges[lane]!.length;
          if (measuring) {
            const ns = Math.round((performance.now() - laneStarted[lane]!) * 1e6);
            for (let j = 0; j < k; j++) hist.record(ns > 0 ? ns : 1);
            ios += k;
            if (laneWrite[lane] === 0) readIos += k;
          }
          if (!stopping) issueLane(lane);
          else if (--active === 0) finish();
        });
      }

      const at = (when: number, fn: () => void): void => {
        timers.push(setTimeout(fn, Math.max(0, when - epochNow())));
      };
      at(schedule.start, () => {
        if (lanes > 0) {
          active = lanes;
          for (let l = 0; l < lanes; l++) issueLane(l);
          return;
        }
        active = iodepth;
        for (let i = 0; i < iodepth; i++) issue(i);
      });
      at(schedule.rampEnd, () => {
        measuring = true;
        statsAtStart = driver.stats();
        eld.enable();
        hooks.onWindowStart?.();
      });
      at(schedule.end, () => {
        // Completions after this point are not counted; the requests in flight drain.
        measuring = false;
        stopping = true;
        statsAtEnd = driver.stats();
        hooks.onWindowEnd?.();
      });
    });
  }
}
