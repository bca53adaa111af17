/**
 * `linux-aio bench` flags: fio's names and value syntax (`--bs=4k`,
 * `--runtime=10`, `--ramp_time=500ms`, `--direct=1`) where fio has one,
 * parsed into {@link BenchOptions}.
 * @internal
 * @module
 */
import { UsageError, intFlag, parseFlags } from '../util/flags.js';
import { FIO_SYSTEMS, NAMED_ENGINES, NODE_ENGINES, RW_MODES, SWEEP_DEPTHS, isFio, type NodeEngine, type Rw, type System } from './job.js';

export const usage = `Usage: linux-aio bench [flags]

Measures random or sequential reads and writes through this package's
AioFile (engines aio, uring and threadpool), through plain fs.promises
FileHandles, and through fio's libaio and io_uring engines, on the same
target with the same job, and prints IOPS, bandwidth, completion-latency percentiles, CPU time
per I/O, event-loop delay and syscalls per I/O.

Target:
  --filename PATH      a file or a block device. A file that does not exist,
                       or is shorter than --size, is created and filled with
                       random data, and kept. Writes to a block device destroy
                       its contents (a mounted one is refused).
                       Default: a temporary file of --size in --directory,
                       filled with random data and removed afterwards.
  --tmpfs              the temporary file goes to /dev/shm, opened O_DIRECT
                       (Linux 6.6+: a memory copy inside io_submit). The
                       device then costs almost nothing: this measures the
                       software path alone, and is the steadiest target on
                       a busy machine
  --directory DIR      where the temporary file goes (default: the first of
                       $TMPDIR (else /tmp), /var/tmp, the current folder that
                       is on a disk file system, not tmpfs, and takes O_DIRECT)
  --size SIZE          bytes of the target to use: 4k, 512m, 1g ... (base
                       1024, as fio). Default 1g for a new file, else all of it

Job (fio's option names):
  --rw MODE            randread (default), randwrite, read, write, randrw
  --rwmixread PCT      reads in percent for randrw (default 50)
  --bs SIZE            block size (default 4k)
  --iodepth N[,N...]   requests in flight per job (default 32); a list runs
                       each depth in turn
  --runtime TIME       measured time per run: 10, 10s, 500ms, 1m (default 10s)
  --ramp_time TIME     warm-up before measuring (default 2s)
  --numjobs N          worker threads, each opening the same target itself,
                       with its own context, iodepth and offsets (default 1)
  --direct 0|1         O_DIRECT (default 1). Buffered I/O through engine aio
                       runs inside io_submit, as fio's libaio does
  --engine E[,E...]    aio (AioFile on an IoQueue, default), aio-many
                       (AioFile.readMany/writeMany: batches of up to 16
                       ranges, one promise per batch), uring and uring-many
                       (the same on an io_uring IoQueue; skipped, with the
                       reason, where io_uring is not allowed), uring-fixed
                       (uring with the buffers registered with the ring:
                       READ_FIXED/WRITE_FIXED), uring-files (the file in
                       the ring's file table), uring-both (the two; these
                       three run only when named), threadpool
                       (AioFile on Node's thread pool), fs (fs.promises
                       FileHandle on an O_DIRECT fd, aligned buffers), fio
                       (fio --ioengine=libaio, its default job: one request
                       per io_submit), fio-best (fio's best libaio settings:
                       --iodepth_batch_submit=16
                       --iodepth_batch_complete_max=32 --userspace_reap=1),
                       fio-uring (fio --ioengine=io_uring, its default
                       job), fio-uring-best (fio's io_uring with the same
                       batching and --fixedbufs --registerfiles), or all
                       (aio,aio-many,uring,uring-many,threadpool,fs)

Runs:
  --compare            every engine, and fio's four jobs (when fio is on
                       PATH) with the same job; one table with the IOPS
                       ratios to each fio job and to fs
  --sweep              the same as --iodepth 1,8,32,128, and a chart
  --repeat N           run everything N times in rounds (each round runs
                       every system at each depth back to back) and report
                       the median of each figure, and each ratio as the
                       median of the per-round ratios with their range
                       (default 1)
  --chart FILE.svg     write an SVG chart of IOPS against iodepth, one line
                       per engine (default for --sweep: bench-sweep.svg)

Output:
  --json               print the results as JSON (no progress bar)
  --output-format F    normal or json (as fio)
  -h, --help           print this help

Each Node engine runs in a child process of its own (fresh heap, its own
libuv thread pool: size it with UV_THREADPOOL_SIZE). Latency is measured from
the read()/write() call to its promise's resolution. CPU per I/O is the
process's user+system time (all threads) over the measured window divided by
the I/Os; for fio, fio's usr+sys. Syscalls per I/O are (io_submit or
io_uring_enter calls + reaps) / I/Os from IoQueue.stats(); reaps from the user-space ring are not
system calls (reapMode tells which). A progress bar goes to stderr when it is
a terminal.

Exit status: 0 done, 1 a run failed, 2 bad flags.
`;

/** Everything a bench invocation asks for. */
export interface BenchOptions {
  filename: string | undefined;
  directory: string | undefined;
  /** The temporary file goes to /dev/shm. */
  tmpfs: boolean;
  /** Bytes of the target to use; undefined: 1 GiB for a new file, else all of it. */
  size: number | undefined;
  rw: Rw;
  rwmixread: number;
  bs: number;
  iodepths: number[];
  runtimeMs: number;
  rampMs: number;
  numjobs: number;
  direct: boolean;
  /** The systems to run, in table order (fio first when present). */
  systems: System[];
  compare: boolean;
  sweep: boolean;
  repeat: number;
  json: boolean;
  chart: string | undefined;
}

export const DEFAULT_SIZE = 1 << 30;

const flags = {
  filename: { type: 'string' },
  directory: { type: 'string' },
  tmpfs: { type: 'boolean' },
  size: { type: 'string' },
  rw: { type: 'string' },
  readwrite: { type: 'string' },
  rwmixread: { type: 'string' },
  bs: { type: 'string' },
  blocksize: { type: 'string' },
  iodepth: { type: 'string' },
  runtime: { type: 'string' },
  'ramp-time': { type: 'string' },
  'time-based': { type: 'boolean' },
  numjobs: { type: 'string' },
  direct: { type: 'string' },
  engine: { type: 'string' },
  compare: { type: 'boolean' },
  sweep: { type: 'boolean' },
  repeat: { type: 'string' },
  chart: { type: 'string' },
  json: { type: 'boolean' },
  'output-format': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

const UNITS: Record<string, number> = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40, p: 2 ** 50 };

/**
 * A size as fio writes it: `4096`, `4k`, `4K`, `4KiB`, `1g`, `1.5m`; units
 * are powers of 1024. The result must be a whole number of bytes.
 * @throws UsageError
 */
export function parseSize(name: string, raw: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgtp]?)(?:i?b)?\s*$/i.exec(raw);
  if (!m) throw new UsageError(`--${name} must be a size such as 4096, 4k, 512m or 1g, got '${raw}'`);
  const bytes = Number(m[1]) * UNITS[m[2]!.toLowerCase()]!;
  if (!Number.isSafeInteger(bytes)) throw new UsageError(`--${name} must be a whole number of bytes, got '${raw}'`);
  return bytes;
}

const TIME_UNITS: Record<string, number> = { us: 0.001, ms: 1, '': 1000, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * A duration as fio writes it, in milliseconds: `10` and `10s` are seconds,
 * `500ms`, `2m`, `1h`.
 * @throws UsageError
 */
export function parseTime(name: string, raw: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(us|ms|s|m|h)?\s*$/i.exec(raw);
  if (!m) throw new UsageError(`--${name} must be a time such as 10, 10s, 500ms or 1m, got '${raw}'`);
  const ms = Number(m[1]) * TIME_UNITS[(m[2] ?? '').toLowerCase()]!;
  return Math.round(ms);
}

function parseBool01(name: string, raw: string | undefined, fallback: boolean): boolean {
  if (raw === undefined) return fallback;
  const t = raw.trim().toLowerCase();
  if (t === '1' || t === 'true') return true;
  if (t === '0' || t === 'false') return false;
  throw new UsageError(`--${name} must be 0 or 1, got '${raw}'`);
}

function parseDepths(raw: string | undefined): number[] {
  if (raw === undefined) return [32];
  const list = raw.split(',').map((s) => intFlag('iodepth', s, 32, 1, 65536));
  return [...new Set(list)];
}

function parseEngines(raw: string | undefined): System[] {
  if (raw === undefined) return ['aio'];
  const out = new Set<System>();
  for (const word of raw.split(',').map((s) => s.trim().toLowerCase())) {
    if (word === 'all') NODE_ENGINES.forEach((e) => out.add(e));
    else if ([...FIO_SYSTEMS, ...NODE_ENGINES, ...NAMED_ENGINES].includes(word as System)) out.add(word as System);
    else throw new UsageError(`--engine must be ${[...NODE_ENGINES, ...NAMED_ENGINES, ...FIO_SYSTEMS].join(', ')} or all, got '${word}'`);
  }
  return orderSystems([...out]);
}

/** fio first, then the Node engines in their usual order. */
export function orderSystems(list: readonly System[]): System[] {
  const order: System[] = [...FIO_SYSTEMS, ...NODE_ENGINES, ...NAMED_ENGINES];
  return order.filter((s) => list.includes(s));
}

/**
 * Parses `linux-aio bench` flags.
 * @returns the options, or 'help'
 * @throws UsageError with a one-line message
 */
export function parseBenchArgs(argv: readonly string[]): BenchOptions | 'help' {
  const { values: v } = parseFlags(argv, flags);
  if (v.help) return 'help';
  const rwRaw = v.rw ?? v.readwrite ?? 'randread';
  if (!(RW_MODES as readonly string[]).includes(rwRaw)) {
    throw new UsageError(`--rw must be one of ${RW_MODES.join(', ')}, got '${rwRaw}'`);
  }
  const rw = rwRaw as Rw;
  const rwmixread = intFlag('rwmixread', v.rwmixread, 50, 0, 100);
  const bsRaw = v.bs ?? v.blocksize;
  const bs = bsRaw === undefined ? 4096 : parseSize('bs', bsRaw);
  if (bs < 1 || bs > 64 * 2 ** 20) throw new UsageError(`--bs must be from 1 byte to 64m, got '${bsRaw}'`);
  const direct = parseBool01('direct', v.direct, true);
  if (direct && bs % 512 !== 0) throw new UsageError(`--bs must be a multiple of 512 with --direct 1, got ${bs}`);
  const size = v.size === undefined ? undefined : parseSize('size', v.size);
  if (size !== undefined && size < bs) throw new UsageError(`--size (${size}) must be at least --bs (${bs})`);
  if (v.sweep && v.iodepth !== undefined) throw new UsageError('--sweep is --iodepth 1,8,32,128: give one or the other');
  const iodepths = v.sweep ? [...SWEEP_DEPTHS] : parseDepths(v.iodepth);
  const runtimeMs = v.runtime === undefined ? 10_000 : parseTime('runtime', v.runtime);
  if (runtimeMs < 100) throw new UsageError(`--runtime must be at least 100ms, got '${v.runtime}'`);
  const rampMs = v['ramp-time'] === undefined ? 2000 : parseTime('ramp_time', v['ramp-time']);
  const numjobs = intFlag('numjobs', v.numjobs, 1, 1, 64);
  const repeat = intFlag('repeat', v.repeat, 1, 1, 100);
  let json = v.json === true;
  if (v['output-format'] !== undefined) {
    const f = v['output-format'].toLowerCase();
    if (f !== 'json' && f !== 'normal') throw new UsageError(`--output-format must be normal or json, got '${v['output-format']}'`);
    json ||= f === 'json';
  }
  const compare = v.compare === true;
  if (compare && v.engine !== undefined) throw new UsageError('--compare runs every engine: drop --engine');
  const systems = compare ? orderSystems([...FIO_SYSTEMS, ...NODE_ENGINES]) : parseEngines(v.engine);
  if (v.filename === '') throw new UsageError('--filename must not be empty');
  if (v.directory !== undefined && v.filename !== undefined) throw new UsageError('--directory is for the temporary file: drop it or --filename');
  if (v.tmpfs && (v.directory !== undefined || v.filename !== undefined)) throw new UsageError('--tmpfs is the temporary file on /dev/shm: drop it, --directory or --filename');
  if (v.chart === '') throw new UsageError('--chart must not be empty');
  const chart = v.chart ?? (v.sweep ? 'bench-sweep.svg' : undefined);
  return {
    filename: v.filename, directory: v.directory, tmpfs: v.tmpfs === true, size, rw, rwmixread, bs, iodepths, runtimeMs, rampMs, numjobs,
    direct, systems, compare, sweep: v.sweep === true, repeat, json, chart,
  };
}

/** The Node engines among `systems`. */
export function nodeEngines(systems: readonly System[]): NodeEngine[] {
  return systems.filter((s): s is NodeEngine => !isFio(s));
}
