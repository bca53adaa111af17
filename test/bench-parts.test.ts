/**
 * The pure parts of `linux-aio bench`: fio-style flag values,
 * reading fio's JSON, medians and ratios, the SVG chart. No I/O.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UsageError } from '../src/util/flags.js';
import { fioArgs, parseFioJson } from '../src/bench/fio.js';
import { failedRun, type JobSpec, type RunResult } from '../src/bench/job.js';
import { parseBenchArgs, parseSize, parseTime, type BenchOptions } from '../src/bench/options.js';
import { buildCells, median } from '../src/bench/report.js';
import { lineChart, niceCeil, xmlEscape } from '../src/bench/svg.js';
import { resultsTable } from '../src/bench/table.js';

test('sizes and times as fio writes them', () => {
  assert.equal(parseSize('bs', '4k'), 4096);
  assert.equal(parseSize('bs', '4KiB'), 4096);
  assert.equal(parseSize('size', '1g'), 2 ** 30);
  assert.equal(parseSize('size', '1.5m'), 1.5 * 2 ** 20);
  assert.equal(parseSize('bs', '512'), 512);
  assert.throws(() => parseSize('bs', '4q'), UsageError);
  assert.equal(parseTime('runtime', '10'), 10_000);
  assert.equal(parseTime('runtime', '10s'), 10_000);
  assert.equal(parseTime('runtime', '500ms'), 500);
  assert.equal(parseTime('runtime', '2m'), 120_000);
  assert.throws(() => parseTime('runtime', '-1'), UsageError);
});

test('bench flags: defaults, fio spellings, --compare and --sweep', () => {
  const d = parseBenchArgs([]) as BenchOptions;
  assert.equal(d.rw, 'randread');
  assert.equal(d.bs, 4096);
  assert.deepEqual(d.iodepths, [32]);
  assert.equal(d.runtimeMs, 10_000);
  assert.equal(d.rampMs, 2000);
  assert.equal(d.numjobs, 1);
  assert.equal(d.direct, true);
  assert.deepEqual(d.systems, ['aio']);
  assert.equal(d.size, undefined);
  const f = parseBenchArgs(['--rw=randwrite', '--bs=8k', '--iodepth=64', '--ramp_time=1', '--direct=0', '--output-format=json',
    '--time_based', '--engine', 'fs,aio']) as BenchOptions;
  assert.equal(f.rw, 'randwrite');
  assert.equal(f.bs, 8192);
  assert.deepEqual(f.iodepths, [64]);
  assert.equal(f.rampMs, 1000);
  assert.equal(f.direct, false);
  assert.equal(f.json, true);
  assert.deepEqual(f.systems, ['aio', 'fs']);
  const c = parseBenchArgs(['--compare', '--sweep']) as BenchOptions;
  assert.deepEqual(c.systems, ['fio', 'fio-best', 'fio-uring', 'fio-uring-best', 'aio', 'aio-many', 'uring', 'uring-many', 'threadpool', 'fs']);
  assert.deepEqual((parseBenchArgs(['--engine', 'all']) as BenchOptions).systems, ['aio', 'aio-many', 'uring', 'uring-many', 'threadpool', 'fs']);
  assert.deepEqual((parseBenchArgs(['--engine', 'uring,fio-uring-best,fio-uring']) as BenchOptions).systems, ['fio-uring', 'fio-uring-best', 'uring']);
  assert.deepEqual((parseBenchArgs(['--engine', 'aio,fio-best']) as BenchOptions).systems, ['fio-best', 'aio']);
  assert.equal((parseBenchArgs(['--tmpfs']) as BenchOptions).tmpfs, true);
  assert.deepEqual(c.iodepths, [1, 8, 32, 128]);
  assert.equal(c.chart, 'bench-sweep.svg');
  assert.equal(parseBenchArgs(['-h']), 'help');
  for (const bad of [['--rwmixread', '101'], ['--numjobs', '0'], ['--compare', '--engine', 'aio'], ['--size', '1k', '--bs', '4k'],
    ['--tmpfs', '--directory', '/tmp'], ['--engine', 'fio-worst']]) {
    assert.throws(() => parseBenchArgs(bad), UsageError, bad.join(' '));
  }
});

const spec: JobSpec = {
  engine: 'aio', path: '/dev/loop0', size: 2 ** 30, rw: 'randread', rwmixread: 50, bs: 4096, iodepth: 32, numjobs: 1,
  direct: true, rampMs: 2000, runtimeMs: 10_000,
};

test('fio: the command line for a job', () => {
  const args = fioArgs(spec);
  for (const a of ['--ioengine=libaio', '--direct=1', '--rw=randread', '--bs=4096', '--iodepth=32', '--numjobs=1',
    '--size=1073741824', '--time_based', '--runtime=10000ms', '--ramp_time=2000ms', '--output-format=json', '--lat_percentiles=1']) {
    assert.ok(args.includes(a), a);
  }
  assert.ok(!args.includes('--thread'));
  const two = fioArgs({ ...spec, numjobs: 2, rw: 'randrw', rwmixread: 70 });
  assert.ok(two.includes('--thread') && two.includes('--group_reporting') && two.includes('--rwmixread=70'));
});

test('fio: JSON output to a result', () => {
  const pct = { '50.000000': 88576, '90.000000': 120320, '99.000000': 193536, '99.900000': 403456 };
  const out = 'fio: some warning\n' + JSON.stringify({
    'fio version': 'fio-3.33',
    jobs: [{
      jobname: 'linux-aio-bench', error: 0, job_runtime: 10000, usr_cpu: 14.1, sys_cpu: 80.7,
      mixed: {
        io_bytes: 13544292352, iops: 330663.5, bw_bytes: 1354429235, runtime: 10000, total_ios: 3306634,
        lat_ns: { min: 1000, max: 2745000, mean: 94300.5, percentile: pct },
        clat_ns: { min: 900, max: 2700000, mean: 92000, percentile: pct },
      },
    }],
  });
  const r = parseFioJson(out, spec);
  assert.equal(r.system, 'fio');
  assert.equal(r.ios, 3306634);
  assert.equal(r.readIos, 3306634);
  assert.equal(r.iops, 330663.5);
  assert.equal(r.seconds, 10);
  assert.equal(r.lat.p50, 88.58);
  assert.equal(r.lat.p99, 193.54);
  assert.equal(r.lat.max, 2745);
  // (14.1 + 80.7)% of 10 s = 9.48 s of CPU over 3,306,634 I/Os.
  assert.ok(Math.abs(r.cpuPerIo - 9.48e6 / 3306634) < 1e-6);
  assert.throws(() => parseFioJson('fio: no such file', spec), /no JSON/);
});

function fake(system: RunResult['system'], iodepth: number, iops: number, cpuPerIo: number): RunResult {
  return { ...failedRun(system, iodepth, ''), error: undefined, ios: iops, iops, seconds: 1, cpuPerIo };
}

test('medians of each figure and ratios taken within each repeat', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 2, 3]), 2.5);
  assert.equal(median([]), null);
  const runs = [
    [fake('fio', 32, 100, 2), fake('aio', 32, 90, 3), fake('fs', 32, 30, 10)],
    [fake('fio', 32, 200, 2), fake('aio', 32, 190, 3), fake('fs', 32, 40, 10)],
    [fake('fio', 32, 100, 2), { ...failedRun('aio', 32, 'EIO') }, fake('fs', 32, 20, 10)],
  ];
  const cells = buildCells(runs, ['fio', 'aio', 'fs'], [32]);
  const aio = cells.find((c) => c.system === 'aio')!;
  assert.equal(aio.runs.length, 3);
  assert.equal(aio.median!.iops, (90 + 190) / 2, 'the failed run is left out');
  // Per-repeat ratios 0.9 and 0.95: their median.
  assert.ok(Math.abs(aio.ratios.iopsToFio! - 0.925) < 1e-9);
  assert.ok(Math.abs(aio.ratios.iopsToFs! - (3 + 4.75) / 2) < 1e-9);
  assert.equal(aio.ratios.cpuToFio, 1.5);
  assert.equal(cells.find((c) => c.system === 'fio')!.ratios.iopsToFio, 1);
  assert.deepEqual(aio.ranges.iopsToFio, [0.9, 0.95], 'the range of the per-round ratios');
  assert.equal(aio.ratios.iopsToFioBest, null, 'no fio-best runs, no ratio');
});

test('fio-best: the batching and user-space reap flags, clamped to the depth; its rows say which fio job', () => {
  const best = fioArgs(spec, 'fio-best');
  for (const f of ['--iodepth_batch_submit=16', '--iodepth_batch_complete_max=32', '--userspace_reap=1']) assert.ok(best.includes(f), f);
  assert.ok(!fioArgs(spec).some((a) => a.includes('userspace_reap')), 'the default job has none of them');
  const qd1 = fioArgs({ ...spec, iodepth: 1 }, 'fio-best');
  assert.ok(qd1.includes('--iodepth_batch_submit=1') && qd1.includes('--iodepth_batch_complete_max=1'));
  const runs = [[fake('fio', 32, 100, 2), fake('fio-best', 32, 200, 1), fake('aio', 32, 150, 2)]];
  const aio = buildCells(runs, ['fio', 'fio-best', 'aio'], [32]).find((c) => c.system === 'aio')!;
  assert.equal(aio.ratios.iopsToFio, 1.5);
  assert.equal(aio.ratios.iopsToFioBest, 0.75);
  assert.equal(aio.ratios.cpuToFioBest, 2);
  assert.equal(aio.ranges.iopsToFioBest, null, 'one round: no range');
});

test("fio-uring: fio's io_uring engine, its default job and at its best (batching, --fixedbufs --registerfiles); the ratios to each", () => {
  const dflt = fioArgs(spec, 'fio-uring');
  assert.ok(dflt.includes('--ioengine=io_uring'));
  assert.ok(!dflt.some((a) => /batch|fixedbufs|registerfiles|userspace_reap/.test(a)), 'the default job is fio\'s own');
  const best = fioArgs(spec, 'fio-uring-best');
  for (const f of ['--ioengine=io_uring', '--iodepth_batch_submit=16', '--iodepth_batch_complete_max=32', '--fixedbufs', '--registerfiles']) {
    assert.ok(best.includes(f), f);
  }
  assert.ok(!best.some((a) => a.includes('userspace_reap')), 'userspace_reap is a libaio option: fio would refuse it');
  assert.ok(fioArgs(spec, 'fio-best').includes('--ioengine=libaio'));
  const runs = [[fake('fio-best', 32, 200, 1), fake('fio-uring', 32, 100, 2), fake('fio-uring-best', 32, 250, 1), fake('uring', 32, 225, 2)]];
  const cells = buildCells(runs, ['fio-best', 'fio-uring', 'fio-uring-best', 'uring'], [32]);
  const uring = cells.find((c) => c.system === 'uring')!;
  assert.equal(uring.ratios.iopsToFioBest, 1.125);
  assert.equal(uring.ratios.iopsToFioUring, 2.25);
  assert.equal(uring.ratios.iopsToFioUringBest, 0.9);
  assert.equal(uring.ratios.iopsToFio, null, 'no default libaio run, no ratio');
  const table = resultsTable(cells, { repeat: 1 });
  assert.match(table, /IOPS xfio uring best/);
  assert.match(table, /fio io_uring best/);
  assert.match(table, /AioFile uring .* 0\.90x/);
});

test('the SVG chart', () => {
  assert.equal(xmlEscape('a<b & "c">'), 'a&lt;b &amp; &quot;c&quot;&gt;');
  assert.equal(niceCeil(86_000), 100_000);
  assert.equal(niceCeil(330_000), 400_000);
  assert.equal(niceCeil(259_000), 300_000);
  assert.equal(niceCeil(0), 1);
  const svg = lineChart({
    title: '4k randread <IOPS>', xLabel: 'iodepth', yLabel: 'IOPS',
    series: [{ name: 'fio libaio', points: [{ x: 1, y: 20_000 }, { x: 32, y: 86_000 }] }, { name: 'fs', points: [{ x: 1, y: 12_000 }] }],
  });
  assert.match(svg, /^<svg /);
  assert.match(svg, /4k randread &lt;IOPS&gt;/);
  assert.equal((svg.match(/<polyline /g) ?? []).length, 1, 'a line needs two points');
  assert.equal((svg.match(/<circle /g) ?? []).length, 3);
  assert.match(svg, /<\/svg>\n$/);
});
