/**
 * A job thread for `--numjobs` above 1: opens the target with its own
 * context (IoQueue) in a worker thread, says it is ready, runs on the
 * schedule the coordinating thread sends, and posts back its counters and
 * its latency histogram (histograms are cloneable).
 * @internal
 * @module
 */
import { parentPort, workerData } from 'node:worker_threads';
import { errorText } from '../util/error-text.js';
import type { JobSpec } from './job.js';
import { PreparedJob, type Schedule } from './runner.js';

/** Messages between a job thread and the thread that coordinates the run. */
export type ToWorker = { type: 'go'; schedule: Schedule };
export type FromWorker =
  | { type: 'ready' }
  | { type: 'done'; outcome: import('./runner.js').ThreadOutcome }
  | { type: 'error'; message: string };

async function main(): Promise<void> {
  const port = parentPort!;
  const { spec, index } = workerData as { spec: JobSpec; index: number };
  const send = (m: FromWorker): void => port.postMessage(m);
  let job: PreparedJob;
  try {
    job = await PreparedJob.prepare(spec, index);
  } catch (err) {
    send({ type: 'error', message: errorText(err) });
    return;
  }
  port.once('message', (m: ToWorker) => {
    job.run(m.schedule).then(
      (outcome) => send({ type: 'done', outcome }),
      (err: unknown) => send({ type: 'error', message: errorText(err) }),
    );
  });
  send({ type: 'ready' });
}

void main();
