/**
 * The two ways completions come back: read from the kernel's aio_ring in
 * user space (the default, 'ring') and the io_getevents syscall ('syscall',
 * by option or by LINUX_AIO_REAP=syscall). The same workload gives the same
 * completions, the same data, on both; and the ring path really does spare
 * the syscalls.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import crypto from 'node:crypto';
import { IoContext } from '../src/index.js';
import { diskDir } from './helpers/disk.js';
import { runWorkload, type WorkloadResult } from './helpers/reap-workload.js';

const script = fileURLToPath(new URL('./helpers/reap-workload.js', import.meta.url));

function runChild(env: Record<string, string>, wrap: string[] = []): { result: WorkloadResult; stderr: string } {
  const [cmd, ...args] = [...wrap, process.execPath, script];
  const child = spawnSync(cmd!, args, {
    env: { ...process.env, LINUX_AIO_REAP: '', ...env, LINUX_AIO_REAP_CHILD: '1', LINUX_AIO_REAP_DIR: diskDir().dir! },
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(child.signal, null, `child died of ${child.signal}: ${child.stderr}`);
  assert.equal(child.status, 0, child.stderr);
  return { result: JSON.parse(child.stdout.trim()) as WorkloadResult, stderr: child.stderr };
}

/** The expected outcome of each request, apart from both reap paths. */
function checkAgainstExpected(r: WorkloadResult): void {
  const blockDigest = (b: number): string => {
    const buf = Buffer.alloc(4096, (b * 29 + 3) & 0xff);
    buf.writeUInt32LE(b, 0);
    return crypto.createHash('sha256').update(buf).digest('hex').slice(0, 16);
  };
  const byKind = (k: string) => r.events.filter((e) => e.kind === k);
  assert.equal(r.events.length, 64 + 40 + 6 + 7);
  assert.deepEqual(r.events.map((e) => e.data), [...Array.from({ length: 53 }, (_, i) => i), ...Array.from({ length: 64 }, (_, i) => 1000 + i)]);
  for (const e of byKind('write')) assert.equal(e.res, 4096);
  for (const e of byKind('read')) {
    assert.equal(e.res, 4096);
    assert.equal(e.digest, blockDigest((e.data * 37) % 64), `read ${e.data} has the wrong data`);
  }
  for (const e of byKind('readv')) assert.equal(e.res, 3 * 4096);
  assert.equal(byKind('read-at-eof')[0]!.res, 0);
  assert.equal(byKind('read-across-eof')[0]!.res, 4096);
  assert.equal(byKind('read-across-eof')[0]!.digest, blockDigest(63));
  assert.equal(byKind('read-misaligned')[0]!.res, -22);
  assert.equal(byKind('fsync')[0]!.res, 0);
  assert.equal(byKind('fdsync')[0]!.res, 0);
  const polls = byKind('poll');
  assert.equal(polls.length, 2);
  assert.ok((polls[0]!.res & 0x001) !== 0, 'POLLIN');
  assert.ok((polls[1]!.res & 0x004) !== 0, 'POLLOUT');
  for (const e of r.events) assert.equal(e.res2, 0);
  assert.equal(r.submitted, r.events.length);
  assert.equal(r.completed, r.events.length);
}

test('ring and syscall reaping give the same completions and data', async (t) => {
  const { skip, dir } = diskDir();
  if (skip) return t.skip(skip);
  const ring = IoContext.setup(32);
  const sys = IoContext.setup(32, { reap: 'syscall' });
  t.after(() => {
    ring.destroy();
    sys.destroy();
  });
  assert.equal(sys.reapMode, 'syscall');
  if (process.env.LINUX_AIO_REAP === 'syscall') {
    assert.equal(ring.reapMode, 'syscall', 'LINUX_AIO_REAP=syscall must force every context');
    return t.skip('LINUX_AIO_REAP=syscall is set for this run: there is no ring path to compare');
  }
  assert.equal(ring.reapMode, 'ring', 'the user-space ring is not used on this kernel');
  const auto = IoContext.setup(4, { reap: 'auto' });
  assert.equal(auto.reapMode, 'ring');
  auto.destroy();
  const a = await runWorkload(ring, dir!);
  const b = await runWorkload(sys, dir!);
  assert.equal(a.reapMode, 'ring');
  assert.equal(b.reapMode, 'syscall');
  checkAgainstExpected(a);
  checkAgainstExpected(b);
  assert.deepEqual(b.events, a.events);
});

test('LINUX_AIO_REAP=syscall forces the syscall path in a fresh process, with the same results', (t) => {
  const { skip } = diskDir();
  if (skip) return t.skip(skip);
  const forced = runChild({ LINUX_AIO_REAP: 'syscall' }).result;
  const plain = runChild({}).result;
  assert.equal(forced.reapMode, 'syscall');
  assert.equal(plain.reapMode, 'ring');
  checkAgainstExpected(forced);
  checkAgainstExpected(plain);
  assert.deepEqual(forced.events, plain.events);
  // Anything but the exact word leaves the default alone.
  assert.equal(runChild({ LINUX_AIO_REAP: 'ring' }).result.reapMode, 'ring');
});

test('the ring path spares io_getevents system calls (counted with strace)', (t) => {
  const { skip } = diskDir();
  if (skip) return t.skip(skip);
  const probe = spawnSync('strace', ['-V'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) return t.skip('strace is not installed, so system calls cannot be counted');
  const count = (env: Record<string, string>): { calls: number; result: WorkloadResult } => {
    const out = `${diskDir().dir}/strace-${process.pid}-${env.LINUX_AIO_REAP ?? 'default'}.txt`;
    const { result } = runChild(env, ['strace', '-f', '-qq', '-c', '-e', 'trace=io_getevents', '-o', out]);
    const text = spawnSync('cat', [out], { encoding: 'utf8' }).stdout;
    spawnSync('rm', ['-f', out]);
    // Columns: % time, seconds, usecs/call, calls, [errors], syscall.
    const line = text.split('\n').find((l) => /\sio_getevents$/.test(l.trimEnd()));
    return { calls: line ? Number(line.trim().split(/\s+/)[3]) : 0, result };
  };
  const ring = count({});
  const sys = count({ LINUX_AIO_REAP: 'syscall' });
  t.diagnostic(`io_getevents calls: ring ${ring.calls} for ${ring.result.reapCalls} reaps, syscall ${sys.calls} for ${sys.result.reapCalls} reaps`);
  if (sys.calls === 0) return t.skip('strace counted no io_getevents even on the syscall path here (ptrace restricted?)');
  assert.equal(ring.result.reapMode, 'ring');
  assert.equal(sys.result.reapMode, 'syscall');
  assert.ok(sys.calls >= sys.result.reapCalls * 0.8, `syscall path: ${sys.calls} io_getevents for ${sys.result.reapCalls} reaps`);
  assert.ok(ring.calls < ring.result.reapCalls / 2, `ring path: ${ring.calls} io_getevents for ${ring.result.reapCalls} reaps`);
  assert.deepEqual(ring.result.events, sys.result.events);
});
