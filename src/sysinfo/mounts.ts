/**
 * The mount table of this process (/proc/self/mountinfo).
 * @internal
 * @module
 */
import fs from 'node:fs';
import { readText } from '../util/read-text.js';

/** One line of mountinfo. */
export interface Mount {
  /** `major:minor` of the file system (st_dev of the files on it). */
  dev: string;
  mountPoint: string;
  fsType: string;
  /** What was mounted: a device path such as `/dev/vda1`, or a name. */
  source: string;
}

const unescape = (s: string): string => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

/** Parses mountinfo text; lines that do not parse are left out. */
export function parseMountinfo(text: string): Mount[] {
  const out: Mount[] = [];
  for (const line of text.split('\n')) {
    // id parent major:minor root mountpoint options [optional...] - fstype source superoptions
    const [left, right] = line.split(' - ');
    if (!left || !right) continue;
    const l = left.split(' ');
    const r = right.split(' ');
    if (l.length < 5 || r.length < 2) continue;
    out.push({ dev: l[2]!, mountPoint: unescape(l[4]!), fsType: r[0]!, source: unescape(r[1]!) });
  }
  return out;
}

/** This process's mounts (none when mountinfo cannot be read). */
export function mounts(): Mount[] {
  const text = readText('/proc/self/mountinfo');
  return text ? parseMountinfo(text) : [];
}

/** The mount a path lives on: the longest mount point above it, preferring the one with its device number. */
export function mountOf(real: string | null, dev: string | null, all: Mount[]): Mount | null {
  if (!real) return null;
  const above = all.filter((m) => m.mountPoint === '/' || real === m.mountPoint || real.startsWith(m.mountPoint + '/'));
  const pick = (list: Mount[]): Mount | null =>
    list.reduce<Mount | null>((best, m) => (!best || m.mountPoint.length >= best.mountPoint.length ? m : best), null);
  return pick(above.filter((m) => m.dev === dev)) ?? pick(above);
}

/** True when the block device with number `rdev` is the source of a mount. */
export function isMountedDevice(rdev: number, all: Mount[] = mounts()): boolean {
  for (const m of all) {
    if (!m.source.startsWith('/dev/')) continue;
    try {
      const st = fs.statSync(m.source);
      if (st.isBlockDevice() && st.rdev === rdev) return true;
    } catch {
      // not there: not ours
    }
  }
  return false;
}
