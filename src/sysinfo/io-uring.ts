/**
 * Whether this process may use io_uring, as far as the kernel's sysctls and
 * version say (nothing is set up to find out).
 * @internal
 * @module
 */
import { readInt } from '../util/read-text.js';

/** What is known about io_uring here. */
export interface IoUringInfo {
  /** True when this process may use io_uring, as far as the kernel says. */
  available: boolean | null;
  /** The value of /proc/sys/kernel/io_uring_disabled (0, 1, 2), when present. */
  ioUringDisabled: number | null;
  detail: string;
}

/** [major, minor, patch] of a release string such as `6.8.0-45-generic`. */
function kernelVersion(release: string): [number, number, number] | null {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(release);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)] : null;
}

function atLeast(v: [number, number, number] | null, major: number, minor: number): boolean | null {
  if (!v) return null;
  return v[0] > major || (v[0] === major && v[1] >= minor);
}

/** io_uring availability on a kernel of `release` (os.release()). */
export function ioUringInfo(release: string): IoUringInfo {
  const disabled = readInt('/proc/sys/kernel/io_uring_disabled');
  if (disabled === 0) return { available: true, ioUringDisabled: 0, detail: 'enabled (kernel.io_uring_disabled = 0)' };
  if (disabled === 2) {
    return { available: false, ioUringDisabled: 2, detail: 'disabled for every process (kernel.io_uring_disabled = 2)' };
  }
  if (disabled === 1) {
    const group = readInt('/proc/sys/kernel/io_uring_group');
    const root = process.getuid?.() === 0;
    const member = group !== null && group >= 0 && (process.getgroups?.() ?? []).includes(group);
    const who = group !== null && group >= 0 ? `root and group ${group}` : 'root (CAP_SYS_ADMIN)';
    return {
      available: root || member,
      ioUringDisabled: 1,
      detail: `restricted to ${who} (kernel.io_uring_disabled = 1); ${root || member ? 'this process may use it' : 'this process may not'}`,
    };
  }
  // No sysctl (it appeared in Linux 6.6): go by the kernel version.
  const v = kernelVersion(release);
  if (atLeast(v, 5, 1) === false) return { available: false, ioUringDisabled: null, detail: 'not available (needs Linux 5.1)' };
  if (atLeast(v, 6, 6) === true) {
    return {
      available: null,
      ioUringDisabled: null,
      detail: 'unknown: no kernel.io_uring_disabled sysctl, which Linux 6.6+ has when io_uring is built in',
    };
  }
  if (v) return { available: true, ioUringDisabled: null, detail: 'available (Linux 5.1 or later; no io_uring_disabled sysctl before 6.6)' };
  return { available: null, ioUringDisabled: null, detail: 'unknown' };
}
