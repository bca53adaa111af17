/**
 * What the bench command and the process that runs one engine say to each
 * other over the IPC channel, and how an error becomes one line.
 * @internal
 * @module
 */
import { describeError } from '../cli/args.js';
import type { JobSpec, RunResult } from './job.js';

export type ToChild = { spec: JobSpec };
export type FromChild = { result: RunResult } | { error: string };

/** `EINVAL: invalid argument (hint)`, or the message. */
export function errorText(err: unknown): string {
  const hint = (err as { hint?: unknown } | null)?.hint;
  return describeError(err) + (typeof hint === 'string' && hint ? ` (${hint})` : '');
}
