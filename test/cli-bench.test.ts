/**
 * `linux-aio bench`: the built command run as a subprocess for
 * about a second, in JSON, the output parsed and its fields checked. No
 * timing assertion: a benchmark is not a test, only its plumbing is.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import { diskDir, tempPath } from './helpers/disk.js';
import { runCli, type Run } from './helpers/cli.js';
import { uringAvailability } from '../src/engine/select.js';


type Report = import('../src/cli/bench.js').BenchReport;


const run = (args: string[]): Promise<Run> => runCli(args);

function checkCell(c: Report['results'][number], system: string, iodepth: number): void {
  assert.equal(c.system, system);
  assert.equal(c.iodepth, iodepth);
  assert.equal(c.runs.length, 1);
  assert.equal(c.runs[0]!.error, undefined, c.runs[0]!.error);
  const m = c.median!;
  assert.ok(m, `${system} has a median`);
  assert.ok(m.ios > 0 && m.iops > 0, `${system} did I/O`);
  assert.equal(m.bytes, m.ios * 4096);
  assert.equal(m.readIos, m.ios, 'randread: every I/O a read');
  assert.ok(m.bandwidth > 0 && m.seconds > 0);
  const l = m.lat;
  assert.ok(l.p50 > 0 && l.p50 <= l.p90 && l.p90 <= l.p99 && l.p99 <= l.p999 && l.p999 <= l.max, JSON.stringify(l));
  assert.ok(m.cpuPerIo > 0, 'CPU per I/O');
  assert.equal(typeof m.eldP99Ms, 'number');
  if (['aio', 'aio-many', 'uring', 'uring-many'].includes(system)) {
    assert.ok(m.syscallsPerIo !== null && m.syscallsPerIo > 0, 'the kernel engines count their syscalls');
    assert.ok(m.reapMode === 'ring' || m.reapMode === 'syscall');
  } else {
    assert.equal(m.syscallsPerIo, null);
  }
}

test('bench --json: every engine, one short run each, on a temporary file', async (t) => {
  const { dir, skip } = diskDir();
  if (skip) return t.skip(skip);
  const r = await run(['bench', '--json', '--engine', 'all', '--directory', dir!, '--size', '16m',
    '--runtime', '300ms', '--ramp_time', '0']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '', 'no progress bar or notes in JSON mode');
  const report = JSON.parse(r.stdout) as Report;
  assert.equal(report.machine.nproc, os.availableParallelism());
  assert.equal(report.machine.kernel, os.release());
  assert.equal(report.target.kind, 'file');
  assert.equal(report.target.temporary, true);
  assert.equal(report.target.size, 16 << 20);
  assert.ok(!fs.existsSync(report.target.path), 'the temporary file is removed');
  // The io_uring engines run where a ring can be set up, and say why not elsewhere.
  const uring = uringAvailability();
  assert.equal(report.uring.skipped, uring.usable ? null : `io_uring is not usable here: ${uring.reason}`);
  const systems = uring.usable ? ['aio', 'aio-many', 'uring', 'uring-many', 'threadpool', 'fs'] : ['aio', 'aio-many', 'threadpool', 'fs'];
  assert.deepEqual(report.job.systems, systems);
  assert.equal(report.job.bs, 4096);
  assert.deepEqual(report.job.iodepths, [32]);
  assert.equal(report.results.length, systems.length);
  report.results.forEach((c, i) => checkCell(c, report.job.systems[i]!, 32));
  const fsCell = report.results.find((c) => c.system === 'fs')!;
  assert.equal(fsCell.ratios.iopsToFs, 1);
  assert.ok(report.results[0]!.ratios.iopsToFs! > 0);
  assert.equal(report.results[0]!.ratios.iopsToFio, null, 'no fio asked for');
});

test('bench --json: two job threads, two queue depths, a chart', async (t) => {
  const { dir, skip } = diskDir();
  if (skip) return t.skip(skip);
  const file = tempPath('bench-target');
  const chart = tempPath('bench-chart') + '.svg';
  const r = await run(['bench', '--json', '--filename', file, '--size', '8m', '--numjobs', '2', '--iodepth', '1,4',
    '--runtime', '200ms', '--ramp_time', '0', '--chart', chart]);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout) as Report;
  assert.ok(dir);
  assert.equal(report.target.temporary, false);
  assert.equal(fs.statSync(file).size, 8 << 20, '--filename is created with --size and kept');
  assert.equal(report.job.numjobs, 2);
  assert.deepEqual(report.results.map((c) => [c.system, c.iodepth]), [['aio', 1], ['aio', 4]]);
  report.results.forEach((c) => checkCell(c, 'aio', c.iodepth));
  const svg = fs.readFileSync(chart, 'utf8');
  assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  assert.match(svg, /AioFile aio/);
  assert.match(svg, /<\/svg>\n$/);
  fs.rmSync(file, { force: true });
  fs.rmSync(chart, { force: true });
});

test('bench: bad flags are one line and exit code 2', async () => {
  for (const args of [['--rw', 'sideways'], ['--bs', '1000'], ['--engine', 'io_uring'], ['--sweep', '--iodepth', '4'], ['--runtime', 'soon']]) {
    const r = await run(['bench', ...args]);
    assert.equal(r.code, 2, args.join(' '));
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^linux-aio bench: .+ \(see linux-aio bench --help\)\n$/);
  }
  const help = await run(['bench', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: linux-aio bench/);
});

test('bench: a target it cannot use is one line naming the file and the cause, exit code 1', async (t) => {
  const { skip } = diskDir();
  if (skip) return t.skip(skip);
  const file = tempPath('bench-not-a-dir');
  fs.writeFileSync(file, 'x');
  t.after(() => fs.rmSync(file, { force: true }));
  const r = await run(['bench', '--filename', `${file}/target`, '--runtime', '100ms', '--ramp_time', '0']);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr, `linux-aio bench: ${file}/target: ENOTDIR: not a directory\n`);
});
