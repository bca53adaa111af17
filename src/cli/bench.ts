/**
 * `linux-aio bench`: fio-style jobs through AioFile (engines aio, uring and
 * threadpool), plain fs.promises and fio itself (libaio and io_uring), on the same target, with
 * one table of IOPS, latency percentiles, CPU per I/O, syscalls per I/O,
 * event-loop delay and the ratios to fio and to fs. The pieces live in
 * src/bench/; this module plans the runs, runs them (each Node engine in a
 * child process of its own, fio as fio), and prints.
 * @module
 */
import { fork } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../util/flags.js';
import { errorText } from '../util/error-text.js';
import { processIo, type CliIo } from './io.js';
import type { FromChild, ToChild } from '../bench/child-protocol.js';
import { fioArgs, fioVersion, runFio } from '../bench/fio.js';
import { URING_ENGINES, failedRun, isFio, type JobSpec, type RunResult, type System } from '../bench/job.js';
import { uringAvailability } from '../engine/select.js';
import { describeTarget, machineInfo, shortTarget, targetInfo, type MachineInfo, type TargetInfo } from '../bench/machine.js';
import { parseBenchArgs, usage, type BenchOptions } from '../bench/options.js';
import { ByteProgress, ProgressBar } from '../bench/progress.js';
import { buildCells, type Cell } from '../bench/report.js';
import { lineChart } from '../bench/svg.js';
import { SYSTEM_LABEL, resultsTable, wrapText } from '../bench/table.js';
import { TargetError, prepareTarget, type Target } from '../bench/target.js';

export { usage };

/** What `--json` prints. */
export interface BenchReport {
  date: string;
  argv: string[];
  machine: MachineInfo;
  target: TargetInfo;
  job: {
    rw: string;
    rwmixread: number | null;
    bs: number;
    iodepths: number[];
    numjobs: number;
    direct: boolean;
    runtimeMs: number;
    rampMs: number;
    repeat: number;
    systems: System[];
  };
  fio: {
    version: string | null; skipped: string | null; args?: string[]; bestArgs?: string[]; uringArgs?: string[]; uringBestArgs?: string[];
  };
  /** Why the AioFile io_uring engines were skipped (io_uring not allowed here), or null. */
  uring: { skipped: string | null };
  /** One per system and iodepth: the runs (one per repeat), their medians and the ratios. */
  results: Cell[];
  chart: string | null;
}

const CHILD = fileURLToPath(new URL('../bench/child.js', import.meta.url));

/** Slack on top of ramp + runtime before a run is given up as hung. */
const HANG_SLACK_MS = 60_000;

/** `4k`, `1m`, or bytes. */
export function fmtBs(bs: number): string {
  if (bs % 2 ** 20 === 0) return `${bs / 2 ** 20}m`;
  if (bs % 1024 === 0) return `${bs / 1024}k`;
  return String(bs);
}

/** About how long a run's process takes to start and open its target. */
const CHILD_STARTUP_MS = 250;

/**
 * The control figure of a run: this process's own event-loop delay while it
 * waits (idle) for the run, from `afterMs` (the end of the ramp) to the end;
 * and the load average at the end.
 */
function idleControl(afterMs: number): { stop(result: RunResult): void } {
  const h = monitorEventLoopDelay({ resolution: 10 });
  const timer = setTimeout(() => h.enable(), afterMs);
  return {
    stop(result) {
      clearTimeout(timer);
      h.disable();
      result.idleEldP99Ms = h.count > 0 ? Math.max(0, h.percentile(99) / 1e6 - 10) : null;
      result.loadavg = os.loadavg()[0] ?? null;
    },
  };
}

/** Runs one Node engine run in a fresh process. `setKill` receives a way to stop it. */
function runChild(spec: JobSpec, setKill: (kill: () => void) => void): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = fork(CHILD, [], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'], serialization: 'advanced' });
    let stderr = '';
    let result: RunResult | undefined;
    let error: string | undefined;
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      error = `no result after ${Math.round((spec.rampMs + spec.runtimeMs + HANG_SLACK_MS) / 1000)} s: killed`;
      child.kill('SIGKILL');
    }, spec.rampMs + spec.runtimeMs + HANG_SLACK_MS);
    setKill(() => child.kill('SIGKILL'));
    child.on('message', (m: FromChild) => {
      if ('result' in m) result = m.result;
      else error = m.error;
    });
    child.on('error', (err) => (error ??= err.message));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (result) return resolve(result);
      const last = stderr.trim().split('\n').filter(Boolean).pop();
      resolve(failedRun(spec.engine, spec.iodepth, error ?? last ?? `the run's process ended (${signal ?? `exit code ${code}`}) without a result`));
    });
    child.send({ spec } satisfies ToChild);
  });
}

function specFor(opts: BenchOptions, target: Target, engine: JobSpec['engine'], iodepth: number): JobSpec {
  return {
    engine, path: target.path, size: target.size, rw: opts.rw, rwmixread: opts.rwmixread, bs: opts.bs, iodepth,
    numjobs: opts.numjobs, direct: opts.direct, rampMs: opts.rampMs, runtimeMs: opts.runtimeMs,
  };
}

function jobLine(opts: BenchOptions): string {
  const rw = opts.rw === 'randrw' ? `randrw (${opts.rwmixread}% reads)` : opts.rw;
  const secs = (ms: number): string => `${+(ms / 1000).toFixed(3)}s`;
  return `${rw}, bs ${fmtBs(opts.bs)}, iodepth ${opts.iodepths.join(',')}, numjobs ${opts.numjobs}, direct ${opts.direct ? 1 : 0}, ` +
    `runtime ${secs(opts.runtimeMs)} after ${secs(opts.rampMs)} ramp` +
    (opts.repeat > 1 ? `, ${opts.repeat} repeats (medians)` : '');
}

function gib(bytes: number): string {
  return bytes >= 2 ** 30 ? `${+(bytes / 2 ** 30).toFixed(2)} GiB` : `${+(bytes / 2 ** 20).toFixed(1)} MiB`;
}

/**
 * The text report, fitted to a terminal of `columns` (tables split, prose
 * wrapped); without it, as for a file, tables stay whole and prose wraps at 110.
 */
export function formatReport(r: BenchReport, opts: BenchOptions, columns?: number): string {
  const m = r.machine;
  const prose = Math.min(columns ?? 110, 110);
  const lines = [
    `linux-aio bench: ${jobLine(opts)}`,
    `target:  ${r.target.path}, ${gib(r.target.size)}, ${describeTarget(r.target)}`,
    `machine: ${m.nproc} CPUs${m.cpuModel ? ` (${m.cpuModel})` : ''}, Linux ${m.kernel}, Node ${m.node}, ` +
      `UV_THREADPOOL_SIZE ${m.uvThreadpoolSize}${m.fio ? `, ${m.fio}` : ''}`,
  ];
  if (r.fio.skipped) lines.push(`fio:     skipped: ${r.fio.skipped}`);
  if (r.uring.skipped) lines.push(`uring:   skipped: ${r.uring.skipped}`);
  const head = lines.splice(0).map((l) => wrapText(l, prose, '         '));
  lines.push(...head, '', resultsTable(r.results, { repeat: opts.repeat, width: columns }).trimEnd(), '');
  const ring = r.results.find((c) => c.median?.reapMode)?.median?.reapMode;
  lines.push('Latency: from the call to completion (fio: lat, submission to completion). CPU us/IO: user+system time of ' +
    'the process, all threads, over the measured window, per I/O (fio: its usr+sys). syscalls/IO: (io_submit calls ' +
    `+ reaps) per I/O from IoQueue.stats()${ring === 'ring' ? ', reaps read the completion ring in user space (no syscall)' : ''}.`);
  lines.push('ELD: event-loop delay (monitorEventLoopDelay) of the thread doing the I/O.');
  if (r.results.some((c) => isFio(c.system))) {
    lines.push("IOPS xfio: to fio's default libaio job (one request per io_submit); xfio best: to fio at its best libaio");
    lines.push(`settings (--iodepth_batch_submit=16 --iodepth_batch_complete_max=32 --userspace_reap=1); xfio uring and xfio uring best: to fio's`);
    lines.push(`io_uring engine, its default job and with the same batching and --fixedbufs --registerfiles${opts.repeat > 1 ? '; medians of the' : '.'}`);
    if (opts.repeat > 1) lines.push('per-round ratios, with their range in brackets (every system runs once per round, back to back).');
  }
  const all = r.results.flatMap((c) => c.runs);
  const idle = all.map((x) => x.idleEldP99Ms).filter((x): x is number => x !== null);
  const load = all.map((x) => x.loadavg).filter((x): x is number => x !== null);
  if (idle.length > 0) {
    lines.push(`Control: an idle event loop (this command's, waiting) saw ELD p99 ${Math.min(...idle).toFixed(2)}–${Math.max(...idle).toFixed(2)} ms ` +
      `during the runs; load average ${Math.min(...load).toFixed(2)}–${Math.max(...load).toFixed(2)} on ${m.nproc} CPUs.`);
  }
  if (r.chart) lines.push(`chart:   ${r.chart}`);
  const table = head.length + 1;
  return lines.map((l, i) => (i <= table ? l : wrapText(l, prose))).join('\n') + '\n';
}

/** The chart of a report: IOPS by iodepth, one line per system. */
export function chartSvg(r: BenchReport): string {
  const j = r.job;
  return lineChart({
    title: `${fmtBs(j.bs)} ${j.rw} IOPS by queue depth${j.numjobs > 1 ? ` (${j.numjobs} jobs)` : ''}`,
    subtitle: `${shortTarget(r.target)}, ${gib(r.target.size)}; direct ${j.direct ? 1 : 0}; runtime ${+(j.runtimeMs / 1000).toFixed(3)}s ` +
      `after ${+(j.rampMs / 1000).toFixed(3)}s ramp; ${j.repeat > 1 ? `medians of ${j.repeat} repeats` : '1 run each'}\n` +
      `${r.machine.nproc} CPUs, Linux ${r.machine.kernel}, Node ${r.machine.node}`,
    xLabel: 'iodepth (requests in flight per job), log2 scale',
    yLabel: 'IOPS',
    series: j.systems.map((s) => ({
      name: SYSTEM_LABEL[s],
      points: r.results.filter((c) => c.system === s && c.median).map((c) => ({ x: c.iodepth, y: c.median!.iops })),
    })),
  });
}

/** Runs `linux-aio bench` with `argv` (the arguments after `bench`); returns the exit code. */
export async function main(argv: string[], io: CliIo = processIo): Promise<number> {
  let opts: BenchOptions;
  try {
    const parsed = parseBenchArgs(argv);
    if (parsed === 'help') {
      io.out(usage);
      return 0;
    }
    opts = parsed;
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.err(`linux-aio bench: ${err.message} (see linux-aio bench --help)\n`);
    return 2;
  }

  const showBar = io === processIo && ProgressBar.wanted(process.stderr, opts.json);
  const note = (line: string): void => {
    if (!opts.json) io.err(`${line}\n`);
  };

  let systems = opts.systems;
  let fio: BenchReport['fio'] = { version: null, skipped: null };
  if (systems.some(isFio)) {
    const v = await fioVersion();
    if ('version' in v) fio = { version: v.version, skipped: null };
    else {
      fio = { version: null, skipped: v.missing };
      systems = systems.filter((s) => !isFio(s));
      note(`linux-aio bench: fio skipped: ${v.missing}`);
    }
  }
  let uringSkipped: string | null = null;
  if (systems.some((s) => (URING_ENGINES as readonly string[]).includes(s))) {
    const u = uringAvailability();
    if (!u.usable) {
      uringSkipped = `io_uring is not usable here: ${u.reason}`;
      systems = systems.filter((s) => !(URING_ENGINES as readonly string[]).includes(s));
      note(`linux-aio bench: engines ${URING_ENGINES.join(', ')} skipped: ${uringSkipped}`);
    }
  }
  if (systems.length === 0) {
    io.err(`linux-aio bench: nothing to run: ${[fio.skipped, uringSkipped].filter(Boolean).join('; ')}\n`);
    return 1;
  }

  let target: Target;
  const writes = opts.rw !== 'randread' && opts.rw !== 'read';
  try {
    let filling: ByteProgress | undefined;
    try {
      target = await prepareTarget(opts, writes, (line) => note(`linux-aio bench: ${line}`), showBar ? (done, total) => {
        filling ??= new ByteProgress(process.stderr, total, `filling ${gib(total)} with random data`);
        filling.update(done);
      } : undefined);
    } finally {
      filling?.stop();
    }
  } catch (err) {
    // Node's errors carry the file they were about; errorText keeps only the cause.
    const where = (err as { path?: unknown } | null)?.path;
    const cause = err instanceof TargetError ? err.message : `${typeof where === 'string' ? `${where}: ` : ''}${errorText(err)}`;
    io.err(`linux-aio bench: ${cause}\n`);
    return 1;
  }

  let kill: (() => void) | undefined;
  let bar: ProgressBar | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    kill?.();
    bar?.stop();
    target.cleanup();
    io.err(`linux-aio bench: interrupted (${signal})${target.temporary ? ', temporary file removed' : ''}\n`);
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    const machine = machineInfo(fio.version);
    const tinfo = targetInfo(target);
    const plan: { repeat: number; iodepth: number; system: System }[] = [];
    for (let repeat = 0; repeat < opts.repeat; repeat++) {
      for (const iodepth of opts.iodepths) for (const system of systems) plan.push({ repeat, iodepth, system });
    }
    if (showBar) bar = new ProgressBar(process.stderr, plan.length, opts.rampMs + opts.runtimeMs + 300);
    const runs: RunResult[][] = Array.from({ length: opts.repeat }, () => []);
    for (const [i, step] of plan.entries()) {
      bar?.startRun(i, `${SYSTEM_LABEL[step.system]} QD${step.iodepth}${opts.repeat > 1 ? ` (repeat ${step.repeat + 1})` : ''}`);
      const system = step.system;
      const control = idleControl(opts.rampMs + (isFio(system) ? 0 : CHILD_STARTUP_MS));
      let result: RunResult;
      if (isFio(system)) {
        const spec = specFor(opts, target, 'aio', step.iodepth);
        try {
          result = await runFio(spec, system, (k) => (kill = k));
        } catch (err) {
          result = failedRun(system, step.iodepth, errorText(err));
        }
      } else {
        result = await runChild(specFor(opts, target, system, step.iodepth), (k) => (kill = k));
      }
      kill = undefined;
      control.stop(result);
      runs[step.repeat]!.push(result);
    }
    bar?.stop();

    const results = buildCells(runs, systems, opts.iodepths);
    const report: BenchReport = {
      date: new Date().toISOString(),
      argv,
      machine,
      target: tinfo,
      job: {
        rw: opts.rw, rwmixread: opts.rw === 'randrw' ? opts.rwmixread : null, bs: opts.bs, iodepths: opts.iodepths,
        numjobs: opts.numjobs, direct: opts.direct, runtimeMs: opts.runtimeMs, rampMs: opts.rampMs, repeat: opts.repeat, systems,
      },
      fio,
      uring: { skipped: uringSkipped },
      results,
      chart: opts.chart ?? null,
    };
    const first = specFor(opts, target, 'aio', opts.iodepths[0]!);
    if (systems.includes('fio')) report.fio.args = fioArgs(first);
    if (systems.includes('fio-best')) report.fio.bestArgs = fioArgs(first, 'fio-best');
    if (systems.includes('fio-uring')) report.fio.uringArgs = fioArgs(first, 'fio-uring');
    if (systems.includes('fio-uring-best')) report.fio.uringBestArgs = fioArgs(first, 'fio-uring-best');
    if (opts.chart) {
      try {
        fs.writeFileSync(opts.chart, chartSvg(report));
      } catch (err) {
        io.err(`linux-aio bench: cannot write the chart ${opts.chart}: ${errorText(err)}\n`);
        report.chart = null;
      }
    }
    io.out(opts.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report, opts, io === processIo && process.stdout.isTTY ? process.stdout.columns : undefined));
    return results.some((c) => c.runs.some((r) => r.error)) ? 1 : 0;
  } finally {
    bar?.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    target.cleanup();
  }
}
