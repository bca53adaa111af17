/**
 * Which engine serves a file: what `engine: 'auto'` picks and why, what
 * LINUX_AIO_ENGINE asks for, and whether io_uring may be used here. Used by
 * `open()` and by `linux-aio info`.
 * @internal
 * @module
 */
import os from 'node:os';
import { errnoName } from '../core/errors.js';
import { probeUring } from '../core/uring.js';
import { argValueError, shown } from '../core/validate.js';
import { readInt } from '../util/read-text.js';
import type { EngineName } from './backend.js';

/** What `open()` accepts as `engine`. */
export type EngineChoice = 'auto' | EngineName;
export const ENGINE_CHOICES: readonly EngineChoice[] = ['auto', 'aio', 'uring', 'threadpool'];

/** The variable that sets what `open()` uses when given neither `engine` nor `queue`. */
export const ENGINE_ENV = 'LINUX_AIO_ENGINE';

/** Whether this thread may use io_uring, and why (not). */
export interface UringAvailability {
  usable: boolean;
  reason: string;
}

let availability: UringAvailability | undefined;

/**
 * Whether io_uring works here, found by setting up a small ring once per
 * thread: only that sees a seccomp filter, a too-small RLIMIT_MEMLOCK or a
 * kernel without the operations the engine needs.
 */
export function uringAvailability(): UringAvailability {
  availability ??= probe();
  return availability;
}

function probe(): UringAvailability {
  const p = probeUring();
  if (p.errno === 0) return { usable: true, reason: 'io_uring is allowed here (a test ring was set up)' };
  const code = errnoName(p.errno);
  const disabled = readInt('/proc/sys/kernel/io_uring_disabled');
  let why: string;
  if (p.missing) why = `the kernel's io_uring lacks ${p.missing}`;
  else if (code === 'EPERM' && disabled !== null && disabled > 0) why = `kernel.io_uring_disabled is ${disabled}`;
  else if (code === 'EPERM') why = 'a seccomp filter (a container\'s, say) refuses it';
  else if (code === 'ENOSYS') why = `no io_uring with the features the engine needs (Linux 5.11+; this is ${os.release()}), or a seccomp filter hides it`;
  else if (code === 'ENOMEM') why = 'RLIMIT_MEMLOCK is too small for the rings (kernels before 5.12)';
  else why = p.hint ?? 'see the error code';
  return { usable: false, reason: `${p.syscall ?? 'io_uring_setup'} fails with ${code}: ${why}` };
}

/** LINUX_AIO_ENGINE, checked; undefined when unset or empty. */
export function envEngine(): EngineChoice | undefined {
  const raw = process.env[ENGINE_ENV];
  if (raw === undefined || raw === '') return undefined;
  if (!(ENGINE_CHOICES as readonly string[]).includes(raw)) {
    throw argValueError(`${ENGINE_ENV} must be one of ${ENGINE_CHOICES.join(', ')}, got ${shown(raw)}`);
  }
  return raw as EngineChoice;
}

/**
 * The kernel engine of a queue made without `engine`: io_uring where
 * LINUX_AIO_ENGINE says 'uring', else Linux AIO.
 */
export function defaultQueueEngine(): 'aio' | 'uring' {
  return envEngine() === 'uring' ? 'uring' : 'aio';
}

/** An engine and the reason it was picked. */
export interface EnginePick {
  engine: EngineName;
  reason: string;
}

/** What `open()` would use here, and why (for `linux-aio info`). */
export interface EngineReport {
  /** Whether a ring could be set up, which only trying shows (seccomp, RLIMIT_MEMLOCK). */
  uring: UringAvailability;
  /** What `engine: 'auto'` picks for O_DIRECT and for buffered files. */
  autoDirect: EnginePick;
  autoBuffered: EnginePick;
  /** LINUX_AIO_ENGINE, which stands in for a missing engine when set. */
  env: string | null;
}

/** The engine choices of this thread, explained. */
export function engineReport(): EngineReport {
  return {
    uring: uringAvailability(),
    autoDirect: autoEngine(true),
    autoBuffered: autoEngine(false),
    env: process.env[ENGINE_ENV] || null,
  };
}

/**
 * What `'auto'` picks. Buffered files go to io_uring, which runs buffered
 * I/O in the kernel without blocking the submitter, where it is usable,
 * else to the thread pool: Linux AIO would run them synchronously inside
 * io_submit. O_DIRECT files stay on Linux AIO until io_uring is measured
 * at least as fast on them.
 */
export function autoEngine(direct: boolean): EnginePick {
  if (direct) {
    return { engine: 'aio', reason: 'O_DIRECT: Linux AIO (io_uring takes O_DIRECT files only once it measures at least as fast)' };
  }
  const u = uringAvailability();
  if (u.usable) return { engine: 'uring', reason: 'buffered: io_uring runs buffered I/O without blocking the event loop' };
  return {
    engine: 'threadpool',
    reason: `buffered: io_uring is not usable (${u.reason}), and Linux AIO would block the event loop on buffered files`,
  };
}
