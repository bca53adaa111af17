/**
 * Turning what the job threads counted into one {@link RunResult}: the
 * latency histogram's percentiles, CPU time per I/O from process.cpuUsage()
 * (every thread of the process), the machine's busy time from /proc/stat,
 * and syscalls per I/O.
 * @internal
 * @module
 */
import fs from 'node:fs';
import os from 'node:os';
import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';
import type { JobSpec, Latency, RunResult } from './job.js';
import type { ThreadOutcome } from './runner.js';

/** USER_HZ: the unit of /proc/stat. 100 on every Linux architecture Node runs on. */
const USER_HZ = 100;

/** Idle and total jiffies of all CPUs, or null without /proc/stat. */
export interface ProcStat {
  idle: number;
}

export function readProcStat(): ProcStat | null {
  try {
    const line = fs.readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait ...
    return { idle: (f[3] ?? 0) + (f[4] ?? 0) };
  } catch {
    return null;
  }
}

/** CPU and wall-clock snapshots at one edge of the measured window. */
export interface Snapshot {
  wallMs: number;
  cpu: NodeJS.CpuUsage;
  stat: ProcStat | null;
}

export function snapshot(wallMs: number): Snapshot {
  return { wallMs, cpu: process.cpuUsage(), stat: readProcStat() };
}

/** The percentiles of a histogram of nanoseconds, in microseconds. */
export function latencyOf(h: RecordableHistogram): Latency {
  if (h.count === 0) return { p50: 0, p90: 0, p99: 0, p999: 0, max: 0, mean: 0 };
  const us = (ns: number): number => Math.round(ns / 10) / 100;
  return {
    p50: us(h.percentile(50)), p90: us(h.percentile(90)), p99: us(h.percentile(99)),
    p999: us(h.percentile(99.9)), max: us(h.max), mean: us(h.mean),
  };
}

/** One run's result from its job threads' outcomes and the window's two snapshots. */
export function summarize(spec: JobSpec, outcomes: readonly ThreadOutcome[], start: Snapshot, end: Snapshot): RunResult {
  const total = createHistogram();
  let ios = 0;
  let readIos = 0;
  let submit: number | null = 0;
  let reap: number | null = 0;
  let eldP99 = 0;
  let eldMax = 0;
  for (const o of outcomes) {
    total.add(o.hist);
    ios += o.ios;
    readIos += o.readIos;
    submit = submit === null || o.submitCalls === null ? null : submit + o.submitCalls;
    reap = reap === null || o.reapCalls === null ? null : reap + o.reapCalls;
    eldP99 = Math.max(eldP99, o.eldP99Ms);
    eldMax = Math.max(eldMax, o.eldMaxMs);
  }
  const seconds = (end.wallMs - start.wallMs) / 1000;
  const cpuUser = end.cpu.user - start.cpu.user;
  const cpuSystem = end.cpu.system - start.cpu.system;
  const perIo = (x: number | null): number | null => (x === null || ios === 0 ? null : x / ios);
  let machine: number | null = null;
  if (start.stat && end.stat && ios > 0) {
    const idleSec = (end.stat.idle - start.stat.idle) / USER_HZ;
    const busy = Math.max(0, os.availableParallelism() * seconds - idleSec);
    machine = (busy * 1e6) / ios;
  }
  const reapMode = outcomes[0]?.reapMode ?? null;
  return {
    system: spec.engine,
    iodepth: spec.iodepth,
    ios,
    readIos,
    writeIos: ios - readIos,
    bytes: ios * spec.bs,
    seconds,
    iops: seconds > 0 ? ios / seconds : 0,
    bandwidth: seconds > 0 ? (ios * spec.bs) / seconds : 0,
    lat: latencyOf(total),
    cpuUser,
    cpuSystem,
    cpuPerIo: ios > 0 ? (cpuUser + cpuSystem) / ios : 0,
    machineCpuPerIo: machine,
    eldP99Ms: eldP99,
    eldMaxMs: eldMax,
    idleEldP99Ms: null,
    loadavg: null,
    syscallsPerIo: submit === null || reap === null ? null : perIo(submit + reap),
    submitCallsPerIo: perIo(submit),
    reapCallsPerIo: perIo(reap),
    reapMode,
  };
}
