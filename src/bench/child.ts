/**
 * The process that runs one engine for one run: a fresh heap, a fresh JIT
 * and its own libuv thread pool, so that no engine runs on another's warm-up
 * and process.cpuUsage() is this run's alone. Started by `linux-aio bench`
 * with an IPC channel; receives a {@link JobSpec}, sends back a RunResult.
 *
 * With one job the I/O runs on this process's main thread (the event-loop
 * delay is then the delay a program doing this I/O would see); with
 * `numjobs` above 1 each job is a worker thread and this thread only keeps time.
 * @internal
 * @module
 */
import { Worker } from 'node:worker_threads';
import { errorText } from '../util/error-text.js';
import type { FromChild, ToChild } from './child-protocol.js';
import type { JobSpec, RunResult } from './job.js';
import { snapshot, summarize, type Snapshot } from './measure.js';
import { PreparedJob, epochNow, type Schedule, type ThreadOutcome } from './runner.js';
import type { FromWorker, ToWorker } from './worker.js';

/** Time between "everyone is ready" and the first request. */
const START_DELAY_MS = 20;

function scheduleFrom(spec: JobSpec): Schedule {
  const start = epochNow() + START_DELAY_MS;
  return { start, rampEnd: start + spec.rampMs, end: start + spec.rampMs + spec.runtimeMs };
}

async function inThisThread(spec: JobSpec): Promise<RunResult> {
  const job = await PreparedJob.prepare(spec, 0);
  let first: Snapshot | undefined;
  let last: Snapshot | undefined;
  const outcome = await job.run(scheduleFrom(spec), {
    onWindowStart: () => (first = snapshot(epochNow())),
    onWindowEnd: () => (last = snapshot(epochNow())),
  });
  return summarize(spec, [outcome], first!, last!);
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve(v: T): void;
  reject(e: Error): void;
}

function deferred<T>(): Deferred<T> {
  const out = {} as Deferred<T>;
  out.promise = new Promise<T>((resolve, reject) => {
    out.resolve = resolve;
    out.reject = reject;
  });
  out.promise.catch(() => {});
  return out;
}

async function inWorkers(spec: JobSpec): Promise<RunResult> {
  const workers: Worker[] = [];
  try {
    const ready: Promise<void>[] = [];
    const done: Promise<ThreadOutcome>[] = [];
    for (let index = 0; index < spec.numjobs; index++) {
      const w = new Worker(new URL('./worker.js', import.meta.url), { workerData: { spec, index } });
      workers.push(w);
      const r = deferred<void>();
      const d = deferred<ThreadOutcome>();
      const failed = (e: Error): void => {
        r.reject(e);
        d.reject(e);
      };
      w.on('message', (m: FromWorker) => {
        if (m.type === 'ready') r.resolve();
        else if (m.type === 'done') d.resolve(m.outcome);
        else failed(new Error(m.message));
      });
      w.on('error', failed);
      w.on('exit', (code) => failed(new Error(`job thread ${index} exited with code ${code}`)));
      ready.push(r.promise);
      done.push(d.promise);
    }
    await Promise.all(ready);
    const schedule = scheduleFrom(spec);
    let first: Snapshot | undefined;
    let last: Snapshot | undefined;
    setTimeout(() => (first = snapshot(epochNow())), Math.max(0, schedule.rampEnd - epochNow()));
    setTimeout(() => (last = snapshot(epochNow())), Math.max(0, schedule.end - epochNow()));
    for (const w of workers) w.postMessage({ type: 'go', schedule } satisfies ToWorker);
    const outcomes = await Promise.all(done);
    return summarize(spec, outcomes, first!, last!);
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

/** Runs `spec` here; what `linux-aio bench` gets back. */
export async function runHere(spec: JobSpec): Promise<RunResult> {
  return spec.numjobs === 1 ? inThisThread(spec) : inWorkers(spec);
}

if (process.send) {
  process.once('message', (m: ToChild) => {
    const reply = (msg: FromChild): void => {
      process.send!(msg, undefined, {}, () => process.exit(0));
    };
    runHere(m.spec).then(
      (result) => reply({ result }),
      (err: unknown) => reply({ error: errorText(err) }),
    );
  });
}
