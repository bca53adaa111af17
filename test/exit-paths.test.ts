/**
 * Exit paths: a process that calls process.exit(), throws an
 * uncaught exception, or just returns, each with I/O in flight, exits with
 * the expected code and does not hang, through the engine (IoQueue/open)
 * and through the low-level IoContext. As the guide says of close and exit:
 * the kernel finishes (or the context's teardown waits for) what is in
 * flight, and the process goes. Each case runs in a child process
 * (test/torture/exit-child.ts) under a timeout, so a hang or a crash is
 * seen as such.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { diskDir, tempPath } from './helpers/disk.js';

const child = path.join(path.dirname(fileURLToPath(import.meta.url)), 'torture/exit-child.js');
const { skip } = diskDir();

const cases: { mode: string; code: number; note: string }[] = [
  { mode: 'exit', code: 0, note: 'process.exit(0)' },
  { mode: 'throw', code: 1, note: 'an uncaught exception' },
  { mode: 'return', code: 0, note: 'the script returns' },
  { mode: 'exit-in-callback', code: 0, note: 'process.exit(0) inside a completion' },
  { mode: 'throw-in-callback', code: 1, note: 'a throw from a completion (unhandled rejection)' },
];

for (const api of ['queue', 'context'] as const) {
  for (const c of cases) {
    test(`exit: ${api === 'queue' ? 'open()/IoQueue' : 'IoContext'}, ${c.note} with I/O in flight → exit code ${c.code}, no hang`, { skip }, () => {
      const file = tempPath(`exit-${api}-${c.mode}`);
      const started = Date.now();
      const r = spawnSync(process.execPath, [child, api, c.mode, file], { encoding: 'utf8', timeout: 30_000 });
      const ms = Date.now() - started;
      const out = `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
      assert.equal(r.error, undefined, `spawn failed or timed out after ${ms} ms (a hang): ${String(r.error)}\n${out}`);
      assert.equal(r.signal, null, `killed by ${r.signal}\n${out}`);
      assert.equal(r.status, c.code, out);
      // The 'exit' event ran: the process left through Node's own exit path.
      assert.match(r.stdout, /exit-event/, out);
      // Proof that the kernel held a request when the process left: a poll nobody answers.
      assert.match(r.stdout, /polls=1\b/, `the unanswered poll was not in the kernel at exit\n${out}`);
      const inflight = Number(/inflight=(\d+)/.exec(r.stdout)?.[1]);
      const completed = Number(/completed=(\d+)/.exec(r.stdout)?.[1]);
      if (c.mode === 'return' && api === 'queue') {
        // Nothing was awaited, but the queue keeps the loop alive until every request is done.
        assert.equal(completed, 256, out);
      } else {
        assert.ok(inflight > 0, `nothing was in flight when the process left\n${out}`);
      }
      if (c.mode === 'throw') assert.match(r.stderr, /deliberate uncaught exception with I\/O in flight/);
      if (c.mode === 'throw-in-callback') assert.match(r.stderr, /deliberate throw from a completion/);
      assert.doesNotMatch(r.stderr, /unexpected I\/O error|Assertion|FATAL|Segmentation/, out);
    });
  }
}
