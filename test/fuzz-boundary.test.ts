/**
 * The fuzzed boundary: fast-check calls every exported function
 * and method at least 2,000 times with random arguments (wrong types,
 * negative and huge numbers, NaN, detached, shared and misaligned buffers,
 * destroyed contexts, closed files and queues), in a child process
 * (test/torture/fuzz-child.ts) so that a crash shows as a signal. Only
 * AioError, AbortError, and TypeError/RangeError carrying Node's
 * argument-error code (ERR_INVALID_ARG_TYPE, ERR_OUT_OF_RANGE,
 * ERR_INVALID_ARG_VALUE) may come out: a bare TypeError is a bug.
 *
 * The seed is random unless LINUX_AIO_FUZZ_SEED is set; it is printed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomInt } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { directOpenError } from '../src/sysinfo/o-direct.js';
import { diskDir } from './helpers/disk.js';

const child = path.join(path.dirname(fileURLToPath(import.meta.url)), 'torture/fuzz-child.js');
/** 2,000 in `npm test`; LINUX_AIO_FUZZ_RUNS changes it (the sanitizer run's short form uses fewer). */
const RUNS = Number(process.env.LINUX_AIO_FUZZ_RUNS ?? 2000);

/** tmpfs with O_DIRECT (Linux 6.6+) when there is one: fsync there costs nothing. Else the disk folder. */
function fuzzDir(): { dir?: string; skip?: string } {
  try {
    const d = fs.mkdtempSync(path.join('/dev/shm', 'linux-aio-fuzz-'));
    if (directOpenError(d) === null) {
      process.on('exit', () => fs.rmSync(d, { recursive: true, force: true }));
      return { dir: d };
    }
    fs.rmSync(d, { recursive: true, force: true });
  } catch {
    /* no /dev/shm */
  }
  return diskDir();
}

interface Tally { runs: number; ok: number; ms: number; errors: Record<string, number>; badCount: number; bad: string[] }
let report: { seed: number; runs: number; ms: number; probeRead: number; tallies: Record<string, Tally> } | undefined;
const { dir, skip } = fuzzDir();

test(`fuzz: every export called ${RUNS.toLocaleString('en')}+ times with random arguments; only coded TypeError/RangeError, AioError, AbortError; never a crash`, { skip, timeout: 300_000 }, (t) => {
  const seed = process.env.LINUX_AIO_FUZZ_SEED ? Number(process.env.LINUX_AIO_FUZZ_SEED) : randomInt(0, 0x7fffffff);
  console.log(`# fuzz seed ${seed} (replay: LINUX_AIO_FUZZ_SEED=${seed})`);
  const r = spawnSync(process.execPath, [child, dir ?? os.tmpdir(), String(RUNS), String(seed)], { encoding: 'utf8', timeout: 240_000, maxBuffer: 64 << 20 });
  const out = `status ${r.status}, signal ${r.signal}\nstdout (tail):\n${r.stdout.slice(-4000)}\nstderr (tail):\n${r.stderr.slice(-4000)}`;
  assert.equal(r.error, undefined, `the child hung or could not start: ${String(r.error)}\n${out}`);
  assert.equal(r.signal, null, `the child crashed (seed ${seed})\n${out}`);
  assert.equal(r.status, 0, out);
  report = JSON.parse(r.stdout.trim().split('\n').pop()!);
  const tallies = Object.entries(report!.tallies);
  const calls = tallies.reduce((s, [, x]) => s + x.runs, 0);
  t.diagnostic(`seed ${seed}: ${tallies.length} targets, ${calls.toLocaleString('en')} calls in ${(report!.ms / 1000).toFixed(1)} s`);
  const classes: Record<string, number> = {};
  for (const [, x] of tallies) for (const [k, n] of Object.entries(x.errors)) classes[k] = (classes[k] ?? 0) + n;
  t.diagnostic(`outcomes: ${Object.entries(classes).map(([k, n]) => `${k} ${n}`).join(', ')}`);

  // Every export was reached.
  const expected = ['allocAligned', 'isAddressAligned', 'errnoName', 'new AioError', 'Iocb.prepPread', 'Iocb.prepPwrite',
    'Iocb.prepPreadv', 'Iocb.prepPwritev', 'Iocb.prepFsync', 'Iocb.prepFdsync', 'Iocb.prepPoll', 'Iocb.setEventfd',
    'Iocb.rwFlags=', 'IoContext.setup', 'IoContext.submit', 'IoContext.getEvents', 'IoContext.waitEvents', 'IoContext.cancel',
    'IoContext.stats/getters', 'IoContext.destroy (destroyed)', 'eventfd', 'eventfdRead', 'new IoQueue', 'IoQueue.stats/default',
    'IoQueue.close', 'open', 'AioFile.read', 'AioFile.write', 'AioFile.readv', 'AioFile.writev', 'AioFile.fsync/fdatasync',
    'AioFile.allocate', 'AioFile.readAt', 'AioFile.createReadStream', 'AioFile.allocate(mode)', 'AioFile.truncate',
    'AioFile.sync/datasync', 'AioFile.writeAt', 'new BufferPool', 'BufferPool.release', 'AioFile.stat', 'AioFile.close (closed)', 'AioFile.asyncDispose (closed)', 'new AioFile',
    'Iocb.priority=', 'Iocb.prepPreadv2/prepPwritev2', 'ioQueueInit/ioQueueRelease', 'ioQueueRelease (junk)', 'ioSetCallback',
    'ioFsync/ioFdsync/ioPoll', 'ioQueueRun', 'ioQueueWait'];
  for (const name of expected) {
    assert.ok(report!.tallies[name], `${name} was not fuzzed`);
    assert.ok(report!.tallies[name]!.runs >= RUNS, `${name}: only ${report!.tallies[name]!.runs} calls`);
  }
  // Both sides of the boundary were reached: calls that worked and calls refused.
  assert.ok(tallies.filter(([, x]) => x.ok > 0).length >= expected.length - 2, 'too few targets ever succeeded: the arguments are all junk');
  for (const kind of ['AioError EBADF', 'AioError EINVAL', 'TypeError ERR_INVALID_ARG_TYPE', 'TypeError ERR_INVALID_ARG_VALUE', 'RangeError ERR_OUT_OF_RANGE']) {
    assert.ok(classes[kind], `no ${kind} was ever seen`);
  }
  const bad = tallies.flatMap(([, x]) => x.bad);
  const badCount = tallies.reduce((s, [, x]) => s + x.badCount, 0);
  assert.equal(badCount, 0, `errors of other classes (seed ${seed}):\n${bad.join('\n')}`);
  // The shared objects still work after all that.
  assert.equal(report!.probeRead, 4096);
});
