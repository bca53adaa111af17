/**
 * Writes the tables of BENCHMARKS.md from the JSON that bench/run.sh
 * collected: `node dist/bench/make-report.js RESULTS_DIR BENCHMARKS.md`.
 * Only the part between the `<!-- bench:begin -->` and `<!-- bench:end -->`
 * markers is replaced; the prose around it stays.
 */
import fs from 'node:fs';
import path from 'node:path';
import { chartSvg, type BenchReport } from '../src/cli/bench.js';
import type { System } from '../src/bench/job.js';
import type { Cell } from '../src/bench/report.js';
import { SYSTEM_LABEL, fmtInt, fmtNum, fmtRatio, fmtUs } from '../src/bench/table.js';
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
  sweep?: { runtime: string; ramp: string };
  targets?: { runtime: string; ramp: string };
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

function sweepTable(r: BenchReport): string {
  const rows: string[][] = [];
  for (const qd of r.job.iodepths) {
    for (const s of r.job.systems) {
      const c = cell(r, s, qd);
      const m = c?.median;
      if (!c || !m) {
        rows.push([String(qd), SYSTEM_LABEL[s], 'failed', '', '', '', '', '', '', '', '']);
        continue;
      }
      rows.push([
        String(qd), SYSTEM_LABEL[s], fmtInt(m.iops), fmtUs(m.lat.p99), m.cpuPerIo.toFixed(2),
        s === 'fio' ? '1' : fmtRatio(c.ratios.iopsToFio), s === 'fs' ? '1' : fmtRatio(c.ratios.iopsToFs),
        s === 'fio' ? '1' : fmtRatio(c.ratios.cpuToFio), fmtNum(m.syscallsPerIo, 3), fmtNum(m.eldP99Ms, 2),
        fmtNum(m.idleEldP99Ms, 2),
      ]);
    }
  }
  return mdTable(['QD', 'system', 'IOPS', 'p99 µs', 'CPU µs/IO', 'IOPS ×fio', 'IOPS ×fs', 'CPU ×fio', 'syscalls/IO', 'ELD p99 ms', 'idle ELD p99 ms'], rows);
}

function spreadNote(r: BenchReport): string {
  const spreads = r.results.filter((c) => c.iopsSpread !== null).map((c) => ({ c, s: c.iopsSpread! }));
  if (spreads.length === 0) return '';
  const worst = spreads.reduce((a, b) => (b.s > a.s ? b : a));
  const sorted = spreads.map((x) => x.s).sort((a, b) => a - b);
  const med = sorted[sorted.length >> 1]!;
  return `IOPS spread (max−min)/median over the ${r.job.repeat} runs: median ${(med * 100).toFixed(1)}%, ` +
    `worst ${(worst.s * 100).toFixed(1)}% (${SYSTEM_LABEL[worst.c.system]} QD${worst.c.iodepth}).`;
}

function machineSection(any: BenchReport, disk: BenchReport | undefined, loop: BenchReport | undefined, meta: Meta): string {
  const m = any.machine;
  const rows: string[][] = [
    ['CPUs (`nproc`)', `${m.nproc}${m.cpuModel ? ` × ${m.cpuModel}` : ''}`],
    ['memory', `${m.memoryGiB} GiB`],
    ['kernel', m.kernel],
    ['Node.js', `${m.node}, UV_THREADPOOL_SIZE ${m.uvThreadpoolSize}`],
    ['fio', m.fio ?? 'not installed'],
  ];
  if (disk) rows.push(['disk target', `${fmtInt(disk.target.size / 2 ** 20)} MiB ${describeTarget({ ...disk.target, temporary: false })}`]);
  if (loop) rows.push(['loop target', `${fmtInt(loop.target.size / 2 ** 20)} MiB ${describeTarget(loop.target)}`]);
  if (meta.commit) rows.push(['linux-aio', `commit ${meta.commit}${meta.dirty ? ' (with uncommitted changes)' : ''}`]);
  if (meta.started) rows.push(['measured', `${meta.started} – ${meta.finished ?? '?'} (UTC)`]);
  if (meta.loadavgBefore) rows.push(['load average', `${meta.loadavgBefore} before, ${meta.loadavgAfter ?? '?'} after (other work on the machine counts in every figure)`]);
  return mdTable(['item', 'value'], rows);
}

interface Target {
  what: string;
  value: number | null;
  text: string;
  goal: string;
  met: boolean | null;
}

function targets(disk: BenchReport | undefined, loop: BenchReport | undefined): Target[] {
  const out: Target[] = [];
  const ratioTarget = (r: BenchReport | undefined, other: 'fio' | 'fs', what: string, goal: number): void => {
    const a = r && cell(r, 'aio', 32);
    const b = r && cell(r, other, 32);
    const v = a ? (other === 'fio' ? a.ratios.iopsToFio : a.ratios.iopsToFs) : null;
    out.push({
      what,
      value: v,
      text: a?.median && b?.median ? `${fmtInt(a.median.iops)} vs ${fmtInt(b.median.iops)} IOPS` : 'not measured',
      goal: `≥ ${goal.toFixed(2)}×`,
      met: v === null ? null : v >= goal,
    });
  };
  ratioTarget(disk, 'fio', 'AioFile.read ÷ fio libaio, disk file', 0.95);
  ratioTarget(loop, 'fio', 'AioFile.read ÷ fio libaio, RAM loop device', 0.8);
  ratioTarget(loop, 'fs', 'AioFile.read ÷ fs.promises FileHandle.read, RAM loop device', 4);
  for (const [label, r] of [['disk file', disk], ['RAM loop device', loop]] as const) {
    const m = r && cell(r, 'aio', 32)?.median;
    const v = m?.eldP99Ms ?? null;
    const idle = m?.idleEldP99Ms;
    const text = v === null ? 'not measured' : `${v.toFixed(2)} ms${idle != null ? ` (idle control ${idle.toFixed(2)} ms)` : ''}`;
    out.push({ what: `event-loop delay p99 during AioFile.read, ${label}`, value: v, text, goal: '< 2 ms', met: v === null ? null : v < 2 });
  }
  return out;
}

const note = (text: string): string[] => (text ? [text, ''] : []);
const times = (n: number): string => (n === 1 ? 'once' : `${n} times`);

function render(dir: string): string {
  const meta: Meta = fs.existsSync(path.join(dir, 'meta.json')) ? (JSON.parse(fs.readFileSync(path.join(dir, 'meta.json'), 'utf8')) as Meta) : {};
  const sets = {
    'disk-randread': load(dir, 'disk-randread'),
    'disk-randwrite': load(dir, 'disk-randwrite'),
    'loop-randread': load(dir, 'loop-randread'),
    'loop-randwrite': load(dir, 'loop-randwrite'),
  };
  const diskT = load(dir, 'disk-targets');
  const loopT = load(dir, 'loop-targets');
  const any = Object.values(sets).find(Boolean) ?? diskT ?? loopT;
  if (!any) throw new Error(`no results in ${dir}`);
  const rel = (f: string): string => path.relative(process.cwd(), path.join(dir, f)).split(path.sep).join('/');
  const parts: string[] = [BEGIN, '', '_Generated by `npm run bench` (bench/run.sh → bench/make-report.ts) from the JSON in ' +
    `\`${rel('')}\`; do not edit by hand._`, '', '### Machine', '', machineSection(any, sets['disk-randread'] ?? diskT, sets['loop-randread'] ?? loopT, meta), ''];

  const tRows = targets(diskT ?? sets['disk-randread'], loopT ?? sets['loop-randread']);
  const tSrc = diskT || loopT
    ? `${meta.targets?.ramp ?? '2'} s ramp + ${meta.targets?.runtime ?? '10'} s runs of fio, aio and fs back to back, ${times(any.job.repeat)}`
    : 'from the sweeps (QD32 rows)';
  parts.push('### Issue 5 targets (4k randread, O_DIRECT, QD32)', '', `Medians of per-run ratios; ${tSrc}.`, '',
    mdTable(['target', 'measured', 'ratio / value', 'goal', 'met'], tRows.map((t) => [
      t.what, t.text, t.value === null ? '-' : t.what.startsWith('event') ? `${t.value.toFixed(2)} ms` : `${t.value.toFixed(2)}×`, t.goal,
      t.met === null ? '-' : t.met ? 'yes' : '**no**',
    ])), '');
  for (const [label, r] of [['disk file', diskT], ['RAM loop device', loopT]] as const) {
    if (!r) continue;
    parts.push(`QD32 randread on the ${label}, ${r.job.rampMs / 1000} s + ${r.job.runtimeMs / 1000} s runs:`, '', sweepTable(r), '', ...note(spreadNote(r)));
  }

  const titles: Record<keyof typeof sets, string> = {
    'disk-randread': '4k random reads, disk file',
    'disk-randwrite': '4k random writes, disk file',
    'loop-randread': '4k random reads, RAM-backed loop device',
    'loop-randwrite': '4k random writes, RAM-backed loop device',
  };
  for (const key of Object.keys(sets) as (keyof typeof sets)[]) {
    const r = sets[key];
    if (!r) continue;
    // Charts are redrawn from the JSON, so that they follow the current chart module.
    fs.writeFileSync(path.join(dir, `${key}.svg`), chartSvg(r));
    parts.push(`### ${titles[key]}`, '', `${describeTarget({ ...r.target, temporary: false })}; ${r.job.rampMs / 1000} s ramp + ` +
      `${r.job.runtimeMs / 1000} s per run, medians of ${r.job.repeat}.${r.fio.skipped ? ` fio skipped: ${r.fio.skipped}.` : ''}`, '',
    sweepTable(r), '', ...note(spreadNote(r)), `![${titles[key]}: IOPS by queue depth](${rel(`${key}.svg`)})`, '');
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
