/**
 * Text tables: a plain aligned-column formatter, and the bench results as
 * one table (one row per system and iodepth) with the ratios to fio and fs.
 * @internal
 * @module
 */
import type { System } from './job.js';
import type { Cell, IopsRatio } from './report.js';

/**
 * Right-aligns every column but the first; two spaces between columns. A
 * table wider than `maxWidth` is split into several, one under the other,
 * each repeating the first `keep` columns (the row names).
 */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[],
  maxWidth = Infinity, keep = 1): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const span = (cols: readonly number[]): number => cols.reduce((sum, i) => sum + widths[i]!, 0) + 2 * (cols.length - 1);
  const keys = widths.slice(0, keep).map((_, i) => i);
  const groups: number[][] = [];
  for (let i = keep; i < widths.length; i++) {
    const last = groups.at(-1);
    if (last && span([...keys, ...last, i]) <= maxWidth) last.push(i);
    else groups.push([i]);
  }
  const render = (cols: readonly number[]): string => {
    const line = (cells: readonly string[]): string =>
      cols.map((i, k) => (k === 0 ? (cells[i] ?? '').padEnd(widths[i]!) : (cells[i] ?? '').padStart(widths[i]!))).join('  ').trimEnd();
    return [line(header), ...rows.map(line)].join('\n') + '\n';
  };
  return (groups.length ? groups : [[]]).map((g) => render([...keys, ...g])).join('\n');
}

/** Breaks prose into lines of at most `width` characters at spaces; continuation lines start with `indent`. */
export function wrapText(text: string, width: number, indent = ''): string {
  const out: string[] = [];
  for (const para of text.split('\n')) {
    let line = '';
    for (const word of para.split(' ')) {
      if (line.trim() && line.length + 1 + word.length > width) {
        out.push(line);
        line = indent + word;
      } else line = line ? `${line} ${word}` : word;
    }
    out.push(line);
  }
  return out.join('\n');
}

/** How each system is named in tables and charts. */
export const SYSTEM_LABEL: Record<System, string> = {
  fio: 'fio libaio',
  'fio-best': 'fio libaio best',
  'fio-uring': 'fio io_uring',
  'fio-uring-best': 'fio io_uring best',
  aio: 'AioFile aio',
  'aio-many': 'AioFile readMany',
  uring: 'AioFile uring',
  'uring-many': 'AioFile uring readMany',
  'uring-fixed': 'AioFile uring fixed buffers',
  'uring-files': 'AioFile uring registered file',
  'uring-both': 'AioFile uring fixed buffers+file',
  threadpool: 'AioFile threadpool',
  fs: 'fs.promises',
};

const en = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/** 86,396 */
export const fmtInt = (n: number): string => en.format(n);

/** Microseconds: one decimal below 100, whole above. */
export function fmtUs(n: number): string {
  return n < 100 ? n.toFixed(1) : fmtInt(n);
}

/** Optional figure with `digits` decimals, '-' for none. */
export function fmtNum(n: number | null | undefined, digits: number): string {
  return n === null || n === undefined || !Number.isFinite(n) ? '-' : n.toFixed(digits);
}

/** A ratio as `0.97x`; with the range of the per-round ratios, `0.97x (0.95-0.99)`. */
export function fmtRatio(n: number | null, range?: readonly [number, number] | null): string {
  if (n === null) return '-';
  return range ? `${n.toFixed(2)}x (${range[0].toFixed(2)}-${range[1].toFixed(2)})` : `${n.toFixed(2)}x`;
}

/** The IOPS ratio columns, each shown when its system ran. */
const RATIO_COLUMNS: readonly { system: System; key: IopsRatio; header: string }[] = [
  { system: 'fio', key: 'iopsToFio', header: 'IOPS xfio' },
  { system: 'fio-best', key: 'iopsToFioBest', header: 'IOPS xfio best' },
  { system: 'fio-uring', key: 'iopsToFioUring', header: 'IOPS xfio uring' },
  { system: 'fio-uring-best', key: 'iopsToFioUringBest', header: 'IOPS xfio uring best' },
  { system: 'fs', key: 'iopsToFs', header: 'IOPS xfs' },
];

/** The results table, split to fit `width` columns (default: one table however wide). */
export function resultsTable(cells: readonly Cell[], opts: { repeat: number; width?: number }): string {
  const has = (s: System): boolean => cells.some((c) => c.system === s && c.median);
  const against = RATIO_COLUMNS.filter((r) => has(r.system));
  const header = ['engine', 'QD', 'IOPS'];
  if (opts.repeat > 1) header.push('spread');
  header.push('MiB/s', 'p50 us', 'p90 us', 'p99 us', 'p99.9 us', 'max us', 'CPU us/IO', 'syscalls/IO', 'ELD p99 ms');
  header.push(...against.map((r) => r.header));
  const notes: string[] = [];
  const rows = cells.map((c) => {
    const m = c.median;
    const row = [SYSTEM_LABEL[c.system], String(c.iodepth)];
    for (const r of c.runs) {
      if (r.error) notes.push(`${SYSTEM_LABEL[c.system]} QD${c.iodepth}: failed: ${r.error}`);
    }
    if (!m) {
      while (row.length < header.length) row.push(row.length === 2 ? 'failed' : '-');
      return row;
    }
    row.push(fmtInt(m.iops));
    if (opts.repeat > 1) row.push(c.iopsSpread === null ? '-' : `${(c.iopsSpread * 100).toFixed(1)}%`);
    row.push(
      (m.bandwidth / 2 ** 20).toFixed(1), fmtUs(m.lat.p50), fmtUs(m.lat.p90), fmtUs(m.lat.p99), fmtUs(m.lat.p999),
      fmtUs(m.lat.max), m.cpuPerIo.toFixed(2), fmtNum(m.syscallsPerIo, 3), fmtNum(m.eldP99Ms, 2),
    );
    const range = (r: readonly [number, number] | null): readonly [number, number] | null => (opts.repeat > 1 ? r : null);
    for (const r of against) row.push(fmtRatio(c.ratios[r.key], range(c.ranges[r.key])));
    return row;
  });
  const unique = [...new Set(notes)];
  const width = opts.width ?? Infinity;
  const notesText = unique.length ? `\n${unique.map((n) => wrapText(n, width)).join('\n')}\n` : '';
  return formatTable(header, rows, width, 2) + notesText;
}
