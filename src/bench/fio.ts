/**
 * fio with the same job: the command line, running it, and reading its JSON
 * output into a {@link RunResult}. fio's latency is `lat` (submission to
 * completion, `--lat_percentiles=1`), the same span the Node engines measure
 * (call to resolution); its CPU is fio's usr+sys over the measured window.
 * @internal
 * @module
 */
import { execFile, spawn } from 'node:child_process';
import type { FioSystem, JobSpec, RunResult } from './job.js';

/** `fio-3.33`, or why fio cannot be run. */
export function fioVersion(): Promise<{ version: string } | { missing: string }> {
  return new Promise((resolve) => {
    execFile('fio', ['--version'], { timeout: 10_000 }, (err, stdout) => {
      if (!err) return resolve({ version: stdout.trim() });
      const code = (err as NodeJS.ErrnoException).code;
      resolve({
        missing: code === 'ENOENT'
          ? 'fio is not on PATH (on Debian or Ubuntu: apt-get install -y fio)'
          : `fio --version failed: ${err.message.split('\n')[0]}`,
      });
    });
  });
}

/**
 * fio's arguments for `spec` (the engine field is ignored: fio uses libaio,
 * or io_uring for the `fio-uring` systems). The `-best` systems add the
 * settings that make fio's engine fastest: submit up to 16 requests per
 * io_submit (io_uring_enter) and reap up to 32 per look; for libaio, read
 * the completion ring in user space instead of calling io_getevents; for
 * io_uring, register the buffers and the file with the ring.
 */
export function fioArgs(spec: JobSpec, system: FioSystem = 'fio'): string[] {
  const uring = system === 'fio-uring' || system === 'fio-uring-best';
  const args = [
    '--name=linux-aio-bench',
    `--filename=${spec.path.replace(/:/g, '\\:')}`,
    `--ioengine=${uring ? 'io_uring' : 'libaio'}`,
    `--direct=${spec.direct ? 1 : 0}`,
    `--rw=${spec.rw}`,
    `--bs=${spec.bs}`,
    `--iodepth=${spec.iodepth}`,
    `--numjobs=${spec.numjobs}`,
    `--size=${spec.size}`,
    '--time_based',
    `--runtime=${spec.runtimeMs}ms`,
    `--ramp_time=${spec.rampMs}ms`,
    '--lat_percentiles=1',
    '--percentile_list=50:90:99:99.9',
    '--unified_rw_reporting=1',
    '--output-format=json',
  ];
  if (spec.rw === 'randrw') args.splice(5, 0, `--rwmixread=${spec.rwmixread}`);
  if (system === 'fio-best' || system === 'fio-uring-best') {
    args.push(`--iodepth_batch_submit=${Math.min(16, spec.iodepth)}`, `--iodepth_batch_complete_max=${Math.min(32, spec.iodepth)}`);
    args.push(...(uring ? ['--fixedbufs', '--registerfiles'] : ['--userspace_reap=1']));
  }
  if (spec.numjobs > 1) args.push('--thread', '--group_reporting');
  return args;
}

interface FioLat {
  max?: number;
  mean?: number;
  percentile?: Record<string, number>;
}
interface FioDir {
  io_bytes?: number;
  iops?: number;
  bw_bytes?: number;
  runtime?: number;
  total_ios?: number;
  lat_ns?: FioLat;
  clat_ns?: FioLat;
}
interface FioJob {
  error?: number;
  job_runtime?: number;
  usr_cpu?: number;
  sys_cpu?: number;
  mixed?: FioDir;
  read?: FioDir;
  write?: FioDir;
}

/**
 * Reads fio's JSON output (anything before the first `{`, such as warnings,
 * is skipped) into a result for `spec`.
 * @throws Error when the text holds no usable fio result
 */
export function parseFioJson(text: string, spec: JobSpec, system: FioSystem = 'fio'): RunResult {
  const at = text.indexOf('{');
  if (at < 0) throw new Error('fio printed no JSON');
  const doc = JSON.parse(text.slice(at)) as { jobs?: FioJob[] };
  const job = doc.jobs?.[0];
  if (!job) throw new Error('fio JSON has no jobs');
  if (job.error) throw new Error(`fio job failed with error ${job.error}`);
  // unified_rw_reporting puts reads and writes in "mixed"; older output, or none, in read/write.
  const dirs = job.mixed ? [job.mixed] : [job.read, job.write].filter((d): d is FioDir => !!d && (d.total_ios ?? 0) > 0);
  if (dirs.length === 0) throw new Error('fio JSON has no I/O');
  const ios = dirs.reduce((a, d) => a + (d.total_ios ?? 0), 0);
  const bytes = dirs.reduce((a, d) => a + (d.io_bytes ?? 0), 0);
  const iops = dirs.reduce((a, d) => a + (d.iops ?? 0), 0);
  const bandwidth = dirs.reduce((a, d) => a + (d.bw_bytes ?? 0), 0);
  const main = dirs.reduce((a, d) => ((d.total_ios ?? 0) > (a.total_ios ?? 0) ? d : a));
  const lat = main.lat_ns?.percentile ? main.lat_ns : main.clat_ns ?? {};
  const pct = (p: string): number => us(lat.percentile?.[p] ?? 0);
  const us = (ns: number): number => Math.round(ns / 10) / 100;
  const seconds = (main.runtime ?? 0) / 1000;
  // usr_cpu/sys_cpu are percent of the jobs' summed runtime (job_runtime, ms).
  const jobSeconds = (job.job_runtime ?? main.runtime ?? 0) / 1000;
  const cpuUser = ((job.usr_cpu ?? 0) / 100) * jobSeconds * 1e6;
  const cpuSystem = ((job.sys_cpu ?? 0) / 100) * jobSeconds * 1e6;
  const readIos = job.mixed ? Math.round(ios * (spec.rw === 'randrw' ? spec.rwmixread / 100 : /read/.test(spec.rw) ? 1 : 0))
    : job.read?.total_ios ?? 0;
  return {
    system,
    iodepth: spec.iodepth,
    ios,
    readIos,
    writeIos: ios - readIos,
    bytes,
    seconds,
    iops,
    bandwidth,
    lat: { p50: pct('50.000000'), p90: pct('90.000000'), p99: pct('99.000000'), p999: pct('99.900000'), max: us(lat.max ?? 0), mean: us(lat.mean ?? 0) },
    cpuUser,
    cpuSystem,
    cpuPerIo: ios > 0 ? (cpuUser + cpuSystem) / ios : 0,
    machineCpuPerIo: null,
    eldP99Ms: null,
    eldMaxMs: null,
    idleEldP99Ms: null,
    loadavg: null,
    syscallsPerIo: null,
    submitCallsPerIo: null,
    reapCallsPerIo: null,
    reapMode: null,
  };
}

/** Runs fio with `spec`'s job. `onSpawn` gets the child, so that it can be killed. */
export function runFio(spec: JobSpec, system: FioSystem, onSpawn?: (kill: () => void) => void): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('fio', fioArgs(spec, system), { stdio: ['ignore', 'pipe', 'pipe'] });
    onSpawn?.(() => child.kill('SIGTERM'));
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code !== 0) {
        const why = err.trim().split('\n').filter(Boolean).pop() ?? (signal ? `killed by ${signal}` : `exit code ${code}`);
        return reject(new Error(`fio failed: ${why}`));
      }
      try {
        resolve(parseFioJson(out, spec, system));
      } catch (e) {
        reject(e);
      }
    });
  });
}
