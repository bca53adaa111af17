/**
 * The shapes shared by the bench modules: a job as one engine runs it, and
 * the figures one run yields. Plain data, so that they cross into worker
 * threads and child processes unchanged.
 * @internal
 * @module
 */

export const RW_MODES = ['randread', 'randwrite', 'read', 'write', 'randrw'] as const;
/** fio's `--rw` values that bench supports. */
export type Rw = (typeof RW_MODES)[number];

/**
 * AioFile on Linux AIO (`aio`) and on io_uring (`uring`); `aio-many` and
 * `uring-many`: AioFile.readMany/writeMany, batches of up to 16 ranges, one
 * promise per batch; `threadpool`: AioFile on Node's thread pool; `fs`:
 * fs.promises.
 */
export const NODE_ENGINES = ['aio', 'aio-many', 'uring', 'uring-many', 'threadpool', 'fs'] as const;
/** The engines that run inside Node. */
/**
 * Engines run only when named (not by `all` or `--compare`), AioFile on
 * io_uring with: `uring-fixed`, the job's buffers registered with the ring
 * (IoQueue.registerBuffers: READ_FIXED/WRITE_FIXED); `uring-files`, the file
 * in the ring's file table (registerFile: IOSQE_FIXED_FILE); `uring-both`,
 * both.
 */
export const NAMED_ENGINES = ['uring-fixed', 'uring-files', 'uring-both'] as const;
export type NodeEngine = (typeof NODE_ENGINES)[number] | (typeof NAMED_ENGINES)[number];
/** The engines that run on io_uring: skipped, with the reason, where no ring can be set up. */
export const URING_ENGINES: readonly NodeEngine[] = ['uring', 'uring-many', 'uring-fixed', 'uring-files', 'uring-both'];
/** The engines that issue readMany/writeMany batches. */
export const MANY_ENGINES: readonly NodeEngine[] = ['aio-many', 'uring-many'];
/**
 * fio's libaio engine: `fio` with its default job (one request per
 * io_submit, io_getevents per completion), `fio-best` with its best
 * settings (`--iodepth_batch_submit=16 --iodepth_batch_complete_max=32
 * --userspace_reap=1`). fio's io_uring engine: `fio-uring` with its
 * default job, `fio-uring-best` with the same batching plus `--fixedbufs
 * --registerfiles`.
 */
export const FIO_SYSTEMS = ['fio', 'fio-best', 'fio-uring', 'fio-uring-best'] as const;
export type FioSystem = (typeof FIO_SYSTEMS)[number];
/** What a table row is about: a Node engine or fio. */
export type System = NodeEngine | FioSystem;

/** True for the fio rows. */
export const isFio = (s: System): s is FioSystem => (FIO_SYSTEMS as readonly string[]).includes(s);

/** The queue depths of `--sweep`. */
export const SWEEP_DEPTHS = [1, 8, 32, 128] as const;

/** One run of one engine: what every job thread does. */
export interface JobSpec {
  engine: NodeEngine;
  path: string;
  /** Bytes of the target in use, a multiple of `bs`. */
  size: number;
  rw: Rw;
  rwmixread: number;
  bs: number;
  iodepth: number;
  numjobs: number;
  direct: boolean;
  rampMs: number;
  runtimeMs: number;
}

/** Completion-latency figures, in microseconds. */
export interface Latency {
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

/** What one run of one system measured over its window (after the ramp). */
export interface RunResult {
  system: System;
  iodepth: number;
  /** I/Os completed in the window. */
  ios: number;
  readIos: number;
  writeIos: number;
  bytes: number;
  /** Length of the window. */
  seconds: number;
  iops: number;
  /** Bytes per second. */
  bandwidth: number;
  lat: Latency;
  /** User + system CPU of the process (all threads) over the window, µs. */
  cpuUser: number;
  cpuSystem: number;
  /** (user + system) / I/Os, µs. */
  cpuPerIo: number;
  /** The whole machine's busy CPU per I/O (ncpu × wall − idle, /proc/stat), µs; other load counts too. */
  machineCpuPerIo: number | null;
  /** p99 and max of the event-loop delay (monitorEventLoopDelay), ms; worst job thread. */
  eldP99Ms: number | null;
  eldMaxMs: number | null;
  /**
   * Control: the event-loop delay p99 of an idle Node process (the bench
   * command, waiting for this run) over the same window, ms. What the
   * machine's scheduling alone costs a sleeping event loop.
   */
  idleEldP99Ms: number | null;
  /** The 1-minute load average at the end of the run. */
  loadavg: number | null;
  /** (io_submit calls + reaps) / I/Os (engine aio). */
  syscallsPerIo: number | null;
  submitCallsPerIo: number | null;
  reapCallsPerIo: number | null;
  /** 'ring' when reaps read the completion ring in user space, 'syscall' for io_getevents. */
  reapMode: 'ring' | 'syscall' | null;
  /** The run failed: why. The figures are then zero. */
  error?: string;
}

/** A result with zero figures that says why the run failed. */
export function failedRun(system: System, iodepth: number, error: string): RunResult {
  return {
    system, iodepth, ios: 0, readIos: 0, writeIos: 0, bytes: 0, seconds: 0, iops: 0, bandwidth: 0,
    lat: { p50: 0, p90: 0, p99: 0, p999: 0, max: 0, mean: 0 },
    cpuUser: 0, cpuSystem: 0, cpuPerIo: 0, machineCpuPerIo: null, eldP99Ms: null, eldMaxMs: null,
    idleEldP99Ms: null, loadavg: null, syscallsPerIo: null, submitCallsPerIo: null, reapCallsPerIo: null, reapMode: null, error,
  };
}
