/**
 * What the bench command and the process that runs one engine say to each
 * other over the IPC channel.
 * @internal
 * @module
 */
import type { JobSpec, RunResult } from './job.js';

export type ToChild = { spec: JobSpec };
export type FromChild = { result: RunResult } | { error: string };
