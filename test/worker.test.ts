/**
 * Worker threads: each has its own context (Node-API instance data, no C
 * globals). A worker terminated with I/O in flight tears its context down
 * (the kernel's requests are waited for or cancelled), the main thread goes
 * on with its own I/O, no kernel context of the process is left behind, and
 * the process exits cleanly. Run in a child process, so that a crash is seen as such.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { diskDir } from './helpers/disk.js';

const script = fileURLToPath(new URL('./helpers/worker-child.js', import.meta.url));

function runChild(mode: 'terminate' | 'exit', dir: string): { out: Record<string, unknown>; stderr: string } {
  const child = spawnSync(process.execPath, [script], {
    env: { ...process.env, LINUX_AIO_WORKER_CHILD: mode, LINUX_AIO_WORKER_DIR: dir },
    encoding: 'utf8',
    timeout: 30_000,
  });
  assert.equal(child.error, undefined, `spawn: ${String(child.error)}`);
  assert.equal(child.signal, null, `the child died of ${child.signal}\n${child.stderr}`);
  assert.equal(child.status, 0, `the child exited ${child.status}\n${child.stderr}`);
  const lines = child.stdout.trim().split('\n');
  assert.equal(lines.length, 1, `unexpected output: ${child.stdout}`);
  return { out: JSON.parse(lines[0]!) as Record<string, unknown>, stderr: child.stderr };
}

test('a worker terminated with AIO in flight: main thread goes on, context torn down, clean exit', (t) => {
  const { skip, dir } = diskDir();
  if (skip) return t.skip(skip);
  const { out, stderr } = runChild('terminate', dir!);
  t.diagnostic(JSON.stringify(out));
  assert.deepEqual(out.errors, [], 'the worker reported errors');
  const ready = out.workerReady as { type: string; inFlight: number; completed: number };
  assert.equal(ready.type, 'ready', `the worker never got going: ${JSON.stringify(ready)}`);
  assert.ok(ready.inFlight >= 1, 'nothing was in flight in the worker');
  assert.ok(ready.completed > 0);
  // Each thread had its own kernel context: main's and the worker's.
  assert.equal(out.mapsDuring, (out.mapsStart as number) + 2);
  // Main-thread I/O was right before, during and after the worker.
  assert.equal(out.mainBefore, 8);
  assert.equal(out.mainDuring, 8);
  assert.equal(out.mainAfter, 8);
  // Termination destroyed the worker's context (only main's remained) ...
  assert.equal(out.terminateCode, 1, 'worker.terminate() resolves with exit code 1');
  assert.equal(out.mapsAfterWorker, (out.mapsStart as number) + 1, "the worker's kernel context outlived the worker");
  // ... and, with main's destroyed too, nothing is left. (The [aio] mappings
  // of this process are exact; fs.aio-nr is system-wide and moves with
  // whatever else runs, so worker-terminate.test.ts checks it with a margin.)
  assert.equal(out.mapsEnd, out.mapsStart);
  assert.equal(stderr.trim(), '', 'the child wrote to stderr');
});

test('the process exits cleanly while a worker has AIO in flight', (t) => {
  const { skip, dir } = diskDir();
  if (skip) return t.skip(skip);
  const { out, stderr } = runChild('exit', dir!);
  assert.deepEqual(out.errors, []);
  assert.equal((out.workerReady as { type: string }).type, 'ready');
  assert.equal(out.mapsDuring, (out.mapsStart as number) + 2);
  assert.equal(out.mainDuring, 8);
  assert.equal(stderr.trim(), '');
});
