/**
 * From runs to what is reported: the median of each figure over the
 * repeats, and the ratios to fio and to Node fs, taken within each repeat
 * (the systems of one repeat ran back to back) and then their median.
 * @internal
 * @module
 */
import type { Latency, RunResult, System } from './job.js';

/** The figures of a cell, each the median over its successful runs. */
export type Figures = Omit<RunResult, 'system' | 'iodepth' | 'error'>;

/** Ratios of a cell to fio and to fs at the same iodepth, medians of the per-repeat ratios. */
export interface Ratios {
  /** IOPS / fio's IOPS (its default job). */
  iopsToFio: number | null;
  /** IOPS / the IOPS of fio at its best libaio settings. */
  iopsToFioBest: number | null;
  /** IOPS / the IOPS of fio's io_uring engine, its default job and at its best. */
  iopsToFioUring: number | null;
  iopsToFioUringBest: number | null;
  /** IOPS / fs's IOPS. */
  iopsToFs: number | null;
  /** CPU per I/O / fio's CPU per I/O. */
  cpuToFio: number | null;
  cpuToFioBest: number | null;
  /** CPU per I/O / fs's CPU per I/O. */
  cpuToFs: number | null;
}

/** The IOPS ratios, each against one system. */
export type IopsRatio = 'iopsToFio' | 'iopsToFioBest' | 'iopsToFioUring' | 'iopsToFioUringBest' | 'iopsToFs';

/** The system each IOPS ratio divides by. */
export const RATIO_BASE: Readonly<Record<IopsRatio, System>> = {
  iopsToFio: 'fio', iopsToFioBest: 'fio-best', iopsToFioUring: 'fio-uring', iopsToFioUringBest: 'fio-uring-best', iopsToFs: 'fs',
};

/** One system at one iodepth: its runs (index = repeat), medians and ratios. */
export interface Cell {
  system: System;
  iodepth: number;
  runs: RunResult[];
  /** Null when every run failed. */
  median: Figures | null;
  ratios: Ratios;
  /** Lowest and highest of the per-round IOPS ratios (null with fewer than two rounds). */
  ranges: Record<IopsRatio, [number, number] | null>;
  /** (max − min) / median of the IOPS of the successful runs. */
  iopsSpread: number | null;
}

/** The median of `values` (the mean of the middle two for an even count); null for none. */
export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function medianOrNull(values: readonly (number | null)[]): number | null {
  return median(values.filter((v): v is number => v !== null && Number.isFinite(v)));
}

/** The median of each figure over the runs that did not fail. */
export function medianFigures(runs: readonly RunResult[]): Figures | null {
  const ok = runs.filter((r) => !r.error);
  if (ok.length === 0) return null;
  const m = (pick: (r: RunResult) => number): number => median(ok.map(pick))!;
  const mn = (pick: (r: RunResult) => number | null): number | null => medianOrNull(ok.map(pick));
  const lat = (k: keyof Latency): number => m((r) => r.lat[k]);
  return {
    ios: m((r) => r.ios), readIos: m((r) => r.readIos), writeIos: m((r) => r.writeIos), bytes: m((r) => r.bytes),
    seconds: m((r) => r.seconds), iops: m((r) => r.iops), bandwidth: m((r) => r.bandwidth),
    lat: { p50: lat('p50'), p90: lat('p90'), p99: lat('p99'), p999: lat('p999'), max: lat('max'), mean: lat('mean') },
    cpuUser: m((r) => r.cpuUser), cpuSystem: m((r) => r.cpuSystem), cpuPerIo: m((r) => r.cpuPerIo),
    machineCpuPerIo: mn((r) => r.machineCpuPerIo), eldP99Ms: mn((r) => r.eldP99Ms), eldMaxMs: mn((r) => r.eldMaxMs),
    idleEldP99Ms: mn((r) => r.idleEldP99Ms), loadavg: mn((r) => r.loadavg),
    syscallsPerIo: mn((r) => r.syscallsPerIo), submitCallsPerIo: mn((r) => r.submitCallsPerIo),
    reapCallsPerIo: mn((r) => r.reapCallsPerIo), reapMode: ok[0]!.reapMode,
  };
}

function ratio(a: RunResult | undefined, b: RunResult | undefined, pick: (r: RunResult) => number): number | null {
  if (!a || !b || a.error || b.error) return null;
  const d = pick(b);
  return d > 0 ? pick(a) / d : null;
}

/**
 * Groups runs by iodepth and system (in the order given) and computes the
 * medians and ratios. `runs[r]` are the runs of repeat r.
 */
export function buildCells(runs: readonly RunResult[][], systems: readonly System[], iodepths: readonly number[]): Cell[] {
  const find = (r: readonly RunResult[], s: System, qd: number): RunResult | undefined =>
    r.find((x) => x.system === s && x.iodepth === qd);
  const cells: Cell[] = [];
  for (const qd of iodepths) {
    for (const system of systems) {
      const mine = runs.map((r) => find(r, system, qd)).filter((x): x is RunResult => !!x);
      const perRound = (other: System, pick: (r: RunResult) => number): number[] =>
        runs.map((r) => ratio(find(r, system, qd), find(r, other, qd), pick)).filter((v): v is number => v !== null && Number.isFinite(v));
      const per = (other: System, pick: (r: RunResult) => number): number | null => median(perRound(other, pick));
      const range = (other: System): [number, number] | null => {
        const v = perRound(other, (r) => r.iops);
        return v.length > 1 ? [Math.min(...v), Math.max(...v)] : null;
      };
      const okIops = mine.filter((r) => !r.error).map((r) => r.iops);
      const mid = median(okIops);
      const keys = Object.keys(RATIO_BASE) as IopsRatio[];
      const iops = Object.fromEntries(keys.map((k) => [k, per(RATIO_BASE[k], (r) => r.iops)])) as Record<IopsRatio, number | null>;
      cells.push({
        system,
        iodepth: qd,
        runs: mine,
        median: medianFigures(mine),
        ratios: {
          ...iops,
          cpuToFio: per('fio', (r) => r.cpuPerIo),
          cpuToFioBest: per('fio-best', (r) => r.cpuPerIo),
          cpuToFs: per('fs', (r) => r.cpuPerIo),
        },
        ranges: Object.fromEntries(keys.map((k) => [k, range(RATIO_BASE[k])])) as Record<IopsRatio, [number, number] | null>,
        iopsSpread: mid && okIops.length > 1 ? (Math.max(...okIops) - Math.min(...okIops)) / mid : null,
      });
    }
  }
  return cells;
}
