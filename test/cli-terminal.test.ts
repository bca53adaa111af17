/**
 * `linux-aio bench` in a real terminal: the results table, the report and the
 * progress bars fit 64 and 100 columns (tables split with their row names
 * repeated, prose wrapped, bar parts left out whole, never cut), filling the
 * target reports progress, the chart labels its log axis, states the job and
 * shows each point's value, and --help names the temp-folder order the code
 * uses. No benchmark runs: the parts are fed made-up results.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { chartSvg, formatReport, type BenchReport } from '../src/cli/bench.js';
import { failedRun, type RunResult, type System } from '../src/bench/job.js';
import { parseBenchArgs, usage, type BenchOptions } from '../src/bench/options.js';
import { ByteProgress, barLine } from '../src/bench/progress.js';
import { buildCells } from '../src/bench/report.js';
import { formatTable } from '../src/bench/table.js';
import { prepareTarget, tempDirCandidates } from '../src/bench/target.js';
import { diskDir, tempPath } from './helpers/disk.js';

const SYSTEMS: System[] = ['aio', 'threadpool', 'fs', 'fio'];

function result(system: System, iodepth: number, iops: number): RunResult {
  const { error: _none, ...zero } = failedRun(system, iodepth, '');
  return {
    ...zero, ios: iops * 10, readIos: iops * 10, bytes: iops * 40960, seconds: 10, iops, bandwidth: iops * 4096,
    lat: { p50: 101.5, p90: 180.2, p99: 1234.5, p999: 4567.8, max: 23456.7, mean: 120.1 },
    cpuUser: 1e6, cpuSystem: 2e6, cpuPerIo: 2.75, eldP99Ms: 0.25, syscallsPerIo: 0.182, idleEldP99Ms: 0.1, loadavg: 1.5,
    reapMode: 'ring',
  };
}

function report(repeat: number): { r: BenchReport; opts: BenchOptions } {
  const opts = parseBenchArgs(['--compare', '--sweep', '--repeat', String(repeat)]) as BenchOptions;
  const runs = Array.from({ length: repeat }, (_, k) =>
    opts.iodepths.flatMap((qd) => SYSTEMS.map((s, i) => result(s, qd, 30_000 * (i + 1) * Math.log2(qd + 1) + k))));
  const r: BenchReport = {
    date: '2026-12-01T00:00:00Z', argv: [],
    machine: { nproc: 2, cpuModel: 'AMD EPYC 7B13 64-Core Processor', memoryGiB: 8, kernel: '6.18.44', node: 'v20.20.2', fio: 'fio-3.33', uvThreadpoolSize: 4 },
    target: {
      path: '/var/tmp/linux-aio-bench-XXXXXX/target', kind: 'file', size: 2 ** 30, temporary: true, fileSystem: 'ext4',
      device: 'vda', rotational: true, scheduler: 'mq-deadline', loopBacking: null, loopDirectIo: null, dioAlignment: { memory: 512, offset: 512 },
    },
    job: {
      rw: opts.rw, rwmixread: null, bs: opts.bs, iodepths: opts.iodepths, numjobs: 1, direct: true,
      runtimeMs: opts.runtimeMs, rampMs: opts.rampMs, repeat, systems: SYSTEMS,
    },
    fio: { version: 'fio-3.33', skipped: null },
    uring: { skipped: null },
    results: buildCells(runs, SYSTEMS, opts.iodepths),
    chart: 'bench-sweep.svg',
  };
  return { r, opts };
}

const longest = (text: string): number => Math.max(...text.split('\n').map((l) => l.length));

test('a table wider than the terminal splits into tables that fit, each repeating the row names', () => {
  const header = ['engine', 'QD', ...Array.from({ length: 12 }, (_, i) => `column ${i}`)];
  const rows = [['AioFile aio', '32', ...Array.from({ length: 12 }, (_, i) => String(1000 * i))]];
  const whole = formatTable(header, rows, Infinity, 2);
  assert.equal(whole.split('\n').filter(Boolean).length, 2, 'no limit: one table');
  for (const width of [64, 100]) {
    const split = formatTable(header, rows, width, 2);
    assert.ok(longest(split) <= width, `a line is ${longest(split)} wide at ${width} columns:\n${split}`);
    const tables = split.split('\n\n');
    assert.ok(tables.length > 1);
    for (const t of tables) assert.match(t, /^engine\s+QD\s/, 'each part starts with the row names');
    for (const h of header.slice(2)) assert.equal(split.split(new RegExp(`${h}(?!\\d)`)).length - 1, 1, `${h} appears exactly once`);
  }
});

test('the --compare --sweep report fits 64 and 100 columns, and stays whole for a file', () => {
  const { r, opts } = report(3);
  for (const width of [64, 100]) {
    const text = formatReport(r, opts, width);
    assert.ok(longest(text) <= width, `a line is ${longest(text)} wide at ${width} columns:\n${text}`);
    assert.match(text, /IOPS xfio/);
    assert.match(text, /fio libaio/);
  }
  const file = formatReport(r, opts);
  assert.ok(longest(file) > 100, 'for a file the table is one table, however wide');
  assert.ok(file.split('\n').filter((l) => !/^\S.*\s{2,}/.test(l)).every((l) => l.length <= 110), 'prose wraps at 110 for a file');
});

test('the progress line fits the terminal, narrows its bar and leaves parts out whole', () => {
  const parts = ['3/16', '1:40 left', 'AioFile threadpool QD128 (repeat 2)', '(0:12 in)'];
  const wide = barLine(0.5, parts, 120);
  assert.equal(wide, `[${'#'.repeat(15)}${'-'.repeat(15)}] ${parts.join(' ')}`);
  for (const cols of [64, 40, 24, 12]) {
    const line = barLine(0.5, parts, cols);
    assert.ok(line.length <= cols - 1, `${line.length} chars at ${cols} columns: ${line}`);
    const text = line.replace(/^\[[#-]+\] /, '');
    if (cols >= 24) assert.ok(parts.some((_, n) => text === parts.slice(0, n + 1).join(' ')), `a part is cut at ${cols}: "${text}"`);
  }
  assert.match(barLine(0.5, parts, 64), /^\[#{5,}-{5,}\] 3\/16 1:40 left AioFile threadpool QD128 \(repeat 2\)$/);
  assert.match(barLine(1, parts, 24), /^\[#{16}\] 3\/16$/);
  assert.equal(barLine(2, ['x'], 40), `[${'#'.repeat(30)}] x`.slice(0, 39), 'a fraction past 1 is a full bar');
});

test('filling the target reports its progress to the end, and the fill bar fits 64 columns', async (t) => {
  const { skip } = diskDir();
  if (skip) return t.skip(skip);
  const file = tempPath('fill');
  t.after(() => fs.rmSync(file, { force: true }));
  const opts = parseBenchArgs(['--filename', file, '--size', '6m']) as BenchOptions;
  const seen: [number, number][] = [];
  const target = await prepareTarget(opts, false, () => {}, (done, total) => seen.push([done, total]));
  assert.equal(target.size, 6 << 20);
  assert.ok(seen.length >= 2, `progress called ${seen.length} times`);
  assert.ok(seen.every(([, total]) => total === 6 << 20));
  assert.ok(seen.every(([d], i) => i === 0 || d > seen[i - 1]![0]), 'done only grows');
  assert.deepEqual(seen.at(-1), [6 << 20, 6 << 20]);

  const writes: string[] = [];
  const bar = new ByteProgress({ isTTY: true, columns: 64, write: (s) => (writes.push(s), true) }, 6 << 20, 'filling 6.0 MiB with random data');
  for (const [done] of seen) bar.update(done);
  bar.stop();
  const drawn = writes.filter((w) => w.includes('] '));
  assert.ok(drawn.length >= 1);
  for (const w of drawn) assert.ok(w.replace('\r\x1b[K', '').length <= 63, w);
  assert.match(drawn.at(-1)!, /\] 100% 0:00 left/);
  assert.equal(writes.at(-1), '\r\x1b[K', 'stop() clears the line');
});

test('the chart labels its log2 axis, states the job and shows every point value', () => {
  const { r } = report(3);
  const svg = chartSvg(r);
  assert.match(svg, /iodepth \(requests in flight per job\), log2 scale/);
  assert.match(svg, /direct 1; runtime 10s after 2s ramp; medians of 3 repeats/);
  assert.match(svg, /ext4 file on vda, 1 GiB/);
  const points = (svg.match(/<circle /g) ?? []).length;
  assert.equal(points, r.results.length);
  const labels = [...svg.matchAll(/<text [^>]*font-size="10"[^>]*>([^<]+)<\/text>/g)].map((m) => m[1]);
  assert.equal(labels.length, points, 'one value label per point');
  assert.ok(labels.every((l) => /^[\d.]+[kM]?$/.test(l!)), labels.join(' '));
});

test('--help names the temp-folder candidates in the order the code tries them', () => {
  const saved = process.env.TMPDIR;
  try {
    process.env.TMPDIR = '/some/tmpdir';
    assert.deepEqual(tempDirCandidates(), ['/some/tmpdir', '/var/tmp', process.cwd()]);
    delete process.env.TMPDIR;
    assert.deepEqual(tempDirCandidates(), ['/tmp', '/var/tmp', process.cwd()]);
  } finally {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
  }
  assert.match(usage.replace(/\s+/g, ' '), /the first of \$TMPDIR \(else \/tmp\), \/var\/tmp, the current folder/);
});
