/**
 * Writes the tables of BENCHMARKS.md from the JSON that bench/run.sh
 * collected: `node dist/bench/make-report.js RESULTS_DIR BENCHMARKS.md`.
 * Only the part between the `<!-- bench:begin -->` and `<!-- bench:end -->`
 * markers is replaced; the prose around it stays.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { BenchReport } from '../src/cli/bench.js';
import type { System } from '../src/bench/job.js';
import { RATIO_BASE, type Cell, type IopsRatio } from '../src/bench/report.js';
import { SYSTEM_LABEL, fmtInt, fmtNum, fmtUs } from '../src/bench/table.js';
import { describeTarget } from '../src/bench/machine.js';

const BEGIN = '<!-- bench:begin -->';
const END = '<!-- bench:end -->';

interface Meta {
  commit?: string;
  dirty?: boolean;
  started?: string;
  finished?: string;
  loadavgBefore?: string;
  loadavgAfter?: string;
  repeat?: number;
}

function load(dir: string, name: string): BenchReport | undefined {
  const file = path.join(dir, `${name}.json`);
  if (!fs.existsSync(file)) return undefined;
  const text = fs.readFileSync(file, 'utf8');
  return text.trim() ? (JSON.parse(text) as BenchReport) : undefined;
}

function mdTable(header: string[], rows: string[][]): string {
  const align = header.map((_, i) => (i < 2 ? '---' : '---:'));
  return [header, align, ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
}

const cell = (r: BenchReport, s: System, qd: number): Cell | undefined => r.results.find((c) => c.system === s && c.iodepth === qd);

/** The ratio columns of a set's table, each there when its system ran. */
const RATIO_COLUMNS: readonly { key: IopsRatio; header: string }[] = [
  { key: 'iopsToFio', header: 'IOPS ×fio default' },
  { key: 'iopsToFioBest', header: 'IOPS ×fio best' },
  { key: 'iopsToFioUring', header: 'IOPS ×fio io_uring default' },
  { key: 'iopsToFioUringBest', header: 'IOPS ×fio io_uring best' },
  { key: 'iopsToFs', header: 'IOPS ×fs' },
];

/** `0.93× (0.90–0.95)`: the median of the per-round ratios and their range. */
function ratioText(c: Cell | undefined, key: IopsRatio): string {
  const v = c?.ratios[key];
  if (v === null || v === undefined) return '-';
  const r = c!.ranges[key];
  return r ? `${v.toFixed(2)}× (${r[0].toFixed(2)}–${r[1].toFixed(2)})` : `${v.toFixed(2)}×`;
}

function resultTable(r: BenchReport): string {
  const ratios = RATIO_COLUMNS.filter((col) => r.job.systems.includes(RATIO_BASE[col.key]));
  const header = ['QD', 'system', 'IOPS', 'IOPS spread', 'p50 µs', 'p99 µs', 'CPU µs/IO', ...ratios.map((col) => col.header),
    'ELD p99 ms', 'load avg'];
  const rows: string[][] = [];
  for (const qd of r.job.iodepths) {
    for (const s of r.job.systems) {
      const c = cell(r, s, qd);
      const m = c?.median;
      if (!c || !m) {
        rows.push([String(qd), SYSTEM_LABEL[s], 'failed', ...Array<string>(header.length - 3).fill('')]);
        continue;
      }
      rows.push([
        String(qd), SYSTEM_LABEL[s], fmtInt(m.iops), c.iopsSpread === null ? '-' : `${(c.iopsSpread * 100).toFixed(0)}%`,
        fmtUs(m.lat.p50), fmtUs(m.lat.p99), m.cpuPerIo.toFixed(2),
        ...ratios.map((col) => (s === RATIO_BASE[col.key] ? '1' : ratioText(c, col.key))),
        fmtNum(m.eldP99Ms, 2), fmtNum(m.loadavg, 1),
      ]);
    }
  }
  return mdTable(header, rows);
}

function machineSection(any: BenchReport, sets: Record<string, BenchReport | undefined>, meta: Meta): string {
  const m = any.machine;
  const rows: string[][] = [
    ['CPUs (`nproc`)', `${m.nproc}${m.cpuModel ? ` × ${m.cpuModel}` : ''}`],
    ['memory', `${m.memoryGiB} GiB`],
    ['kernel', m.kernel],
    ['Node.js', `${m.node}, UV_THREADPOOL_SIZE ${m.uvThreadpoolSize}`],
    ['fio', m.fio ?? 'not installed'],
  ];
  for (const [label, r] of Object.entries(sets)) {
    if (r) rows.push([`${label} target`, `${fmtInt(r.target.size / 2 ** 20)} MiB ${describeTarget({ ...r.target, temporary: false })}`]);
  }
  if (meta.commit) rows.push(['linux-aio', `commit ${meta.commit}${meta.dirty ? ' (with uncommitted changes)' : ''}`]);
  if (meta.started) rows.push(['measured', `${meta.started} – ${meta.finished ?? '?'} (UTC)`]);
  if (meta.loadavgBefore) rows.push(['load average', `${meta.loadavgBefore} before, ${meta.loadavgAfter ?? '?'} after (the machine is shared: other work counts in every figure; each run's own is in the tables)`]);
  return mdTable(['item', 'value'], rows);
}

interface Target {
  what: string;
  measured: string;
  value: number | null;
  range: [number, number] | null;
  goal: number;
  below: boolean;
}

function targets(sets: Record<string, BenchReport | undefined>): Target[] {
  const out: Target[] = [];
  const ratio = (label: string, sys: System, qd: number, key: IopsRatio, goal: number, what: string): void => {
    const r = sets[label];
    const c = r && cell(r, sys, qd);
    const other = r && cell(r, RATIO_BASE[key], qd);
    out.push({
      what,
      measured: c?.median && other?.median ? `${fmtInt(c.median.iops)} vs ${fmtInt(other.median.iops)} IOPS` : 'not measured',
      value: c?.ratios[key] ?? null,
      range: c?.ranges[key] ?? null,
      goal,
      below: false,
    });
  };
  ratio('tmpfs', 'aio', 32, 'iopsToFioBest', 0.9, 'tmpfs QD32: AioFile.read ÷ fio best');
  ratio('tmpfs', 'aio-many', 32, 'iopsToFioBest', 0.95, 'tmpfs QD32: AioFile.readMany ÷ fio best');
  ratio('tmpfs', 'aio', 1, 'iopsToFio', 0.9, 'tmpfs QD1: AioFile.read ÷ fio default job');
  ratio('disk', 'aio', 32, 'iopsToFioBest', 0.97, 'disk file QD32: AioFile.read ÷ fio best');
  ratio('loop', 'aio', 32, 'iopsToFioBest', 0.9, 'RAM loop QD32: AioFile.read ÷ fio best');
  ratio('loop', 'aio', 32, 'iopsToFs', 4, 'RAM loop QD32: AioFile.read ÷ fs.promises');
  // io_uring's targets, where the sets ran it.
  const uringSets = (['disk', 'loop'] as const).filter((label) => sets[label]?.job.systems.includes('uring'));
  const names = { disk: 'disk file', loop: 'RAM loop' };
  for (const label of uringSets) {
    ratio(label, 'uring', 32, 'iopsToFioBest', 1.0, `${names[label]} QD32: AioFile uring ÷ fio libaio best`);
    ratio(label, 'uring', 32, 'iopsToFioUringBest', 0.9, `${names[label]} QD32: AioFile uring ÷ fio io_uring best`);
    ratio(label, 'uring', 1, 'iopsToFioUring', 0.9, `${names[label]} QD1: AioFile uring ÷ fio io_uring default job`);
  }
  const eld: [string, System, string][] = ['tmpfs', 'disk', 'loop'].flatMap((label) => [
    [label, 'aio', 'AioFile.read'] as [string, System, string],
    ...(sets[label]?.job.systems.includes('uring') ? [[label, 'uring', 'AioFile uring'] as [string, System, string]] : []),
  ]);
  for (const [label, sys, name] of eld) {
    const m = sets[label] && cell(sets[label]!, sys, 32)?.median;
    const v = m?.eldP99Ms ?? null;
    out.push({
      what: `${label} QD32: event-loop delay p99 during ${name}`,
      measured: v === null ? 'not measured' : `${v.toFixed(2)} ms${m?.idleEldP99Ms != null ? ` (idle control ${m.idleEldP99Ms.toFixed(2)} ms)` : ''}`,
      value: v, range: null, goal: 1, below: true,
    });
  }
  return out;
}

function latencyTable(sets: Record<string, BenchReport | undefined>): string {
  const rows: string[][] = [];
  for (const [label, r] of Object.entries(sets)) {
    if (!r) continue;
    for (const s of r.job.systems) {
      const m = cell(r, s, 1)?.median;
      if (m) rows.push([label, SYSTEM_LABEL[s], fmtUs(m.lat.p50), fmtUs(m.lat.p99), fmtInt(m.iops), m.cpuPerIo.toFixed(2)]);
    }
  }
  return mdTable(['target', 'system', 'p50 µs', 'p99 µs', 'IOPS', 'CPU µs/IO'], rows);
}

const TITLES: Record<string, string> = {
  tmpfs: 'File on tmpfs opened O_DIRECT (the software path alone)',
  disk: 'File on the disk file system',
  loop: 'RAM-backed loop device',
};

function render(dir: string): string {
  const meta: Meta = fs.existsSync(path.join(dir, 'meta.json')) ? (JSON.parse(fs.readFileSync(path.join(dir, 'meta.json'), 'utf8')) as Meta) : {};
  const sets: Record<string, BenchReport | undefined> = { tmpfs: load(dir, 'tmpfs'), disk: load(dir, 'disk'), loop: load(dir, 'loop') };
  const any = Object.values(sets).find(Boolean);
  if (!any) throw new Error(`no results in ${dir}`);
  const rel = (f: string): string => path.relative(process.cwd(), path.join(dir, f)).split(path.sep).join('/');
  const parts: string[] = [BEGIN, '', '_Generated by `npm run bench` (bench/run.sh → bench/make-report.ts) from the JSON in ' +
    `\`${rel('')}\`; do not edit by hand._`, '', '### Machine', '', machineSection(any, sets, meta), ''];
  parts.push('### Targets (4k randread, O_DIRECT)', '',
    `${any.job.repeat} rounds, interleaved: each round runs every system at each depth back to back, ` +
    `${any.job.rampMs / 1000} s ramp + ${any.job.runtimeMs / 1000} s each. A ratio is the median of the per-round ratios; ` +
    'the range of the per-round ratios follows in brackets.', '',
    mdTable(['target', 'measured (medians)', 'ratio or value', 'goal', 'met'], targets(sets).map((t) => [
      t.what, t.measured,
      t.value === null ? '-' : t.below ? `${t.value.toFixed(2)} ms` : `${t.value.toFixed(2)}×${t.range ? ` (${t.range[0].toFixed(2)}–${t.range[1].toFixed(2)})` : ''}`,
      t.below ? `< ${t.goal} ms` : `≥ ${t.goal.toFixed(2)}×`,
      t.value === null ? '-' : (t.below ? t.value < t.goal : t.value >= t.goal) ? 'yes' : '**no**',
    ])), '');
  parts.push('### Queue depth 1: latency', '', 'Completion latency of one read at a time (AioFile: from the `read()` call to the ' +
    "promise's continuation; fio: `lat`, submission to completion).", '', latencyTable(sets), '');
  for (const [label, r] of Object.entries(sets)) {
    if (!r) continue;
    parts.push(`### ${TITLES[label]}`, '', `${describeTarget({ ...r.target, temporary: false })}; medians of ${r.job.repeat} rounds.` +
      `${r.fio.skipped ? ` fio skipped: ${r.fio.skipped}.` : ''}`, '', resultTable(r), '');
  }
  parts.push(END);
  return parts.join('\n');
}

function main(): void {
  const [dir, out] = process.argv.slice(2);
  if (!dir || !out) {
    process.stderr.write('usage: node dist/bench/make-report.js RESULTS_DIR BENCHMARKS.md\n');
    process.exitCode = 2;
    return;
  }
  const section = render(dir);
  let doc = fs.existsSync(out) ? fs.readFileSync(out, 'utf8') : `# Benchmarks\n\n${BEGIN}\n${END}\n`;
  const a = doc.indexOf(BEGIN);
  const b = doc.indexOf(END);
  doc = a >= 0 && b > a ? doc.slice(0, a) + section + doc.slice(b + END.length) : `${doc.trimEnd()}\n\n${section}\n`;
  fs.writeFileSync(out, doc);
}

main();
