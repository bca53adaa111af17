/**
 * `linux-aio info [path...]`: what this machine allows. The kernel, the AIO
 * event limits, io_uring, and for each path the file system, whether
 * O_DIRECT works (tried, not guessed), the DIO alignment, the block sizes
 * and the device under it. Anything that cannot be found out is `unknown`
 * (`null` in JSON); nothing here throws.
 * @module
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AioError, IoContext, Iocb, allocAligned } from '../index.js';
import { native, type NativeFileFacts } from '../core/native.js';
import { UsageError, describeError, parseFlags, processIo, type CliIo } from './args.js';

export const usage = `Usage: linux-aio info [--json] [path...]

Prints what this machine allows for Linux AIO: the kernel version,
/proc/sys/fs/aio-nr and aio-max-nr, whether io_uring is available, and for
each path (default: the current folder) the file-system type, whether O_DIRECT
works, the DIO alignment (memory and offset), the logical and physical block
size, the device, whether it is rotational and its I/O scheduler.

O_DIRECT is tried, not guessed: in a folder, a probe file is created, written
and read back through an AIO context, then removed; a file or block device is
opened read-only and its first block read. Nothing else is written.

Flags:
  --json       print the same as JSON
  -h, --help   print this help

Exit status: 0, or 1 when a path does not exist or cannot be examined; 2 for
bad flags.
`;

/** Everything `info` reports; `null` is unknown. */
export interface InfoReport {
  kernel: string;
  aio: { nr: number | null; maxNr: number | null };
  ioUring: {
    /** True when this process may use io_uring, as far as the kernel says. */
    available: boolean | null;
    /** The value of /proc/sys/kernel/io_uring_disabled (0, 1, 2), when present. */
    ioUringDisabled: number | null;
    detail: string;
  };
  paths: PathInfo[];
}

/** The facts about one path. */
export interface PathInfo {
  path: string;
  realPath: string | null;
  kind: 'directory' | 'file' | 'block device' | 'character device' | 'fifo' | 'socket' | null;
  /** Why the path could not be examined (it does not exist, ...). */
  error: string | null;
  fileSystem: { type: string | null; magic: string | null; mountPoint: string | null };
  oDirect: { works: boolean | null; detail: string };
  dioAlignment: { memory: number | null; offset: number | null; source: string | null };
  blockSize: { logical: number | null; physical: number | null; fileSystem: number | null };
  device: { name: string | null; number: string | null; rotational: boolean | null; scheduler: string | null };
}

/** statfs magic numbers (linux/magic.h) and the names `mount` uses for them. */
const FS_MAGIC: ReadonlyMap<number, string> = new Map([
  [0xef53, 'ext4'], [0x58465342, 'xfs'], [0x9123683e, 'btrfs'], [0x01021994, 'tmpfs'],
  [0x794c7630, 'overlay'], [0x9fa0, 'proc'], [0x62656572, 'sysfs'], [0x6969, 'nfs'],
  [0x2fc12fc1, 'zfs'], [0xf2f52010, 'f2fs'], [0x65735546, 'fuse'], [0xca451a4e, 'bcachefs'],
  [0x858458f6, 'ramfs'], [0x4d44, 'vfat'], [0x2011bab0, 'exfat'], [0x5346544e, 'ntfs'],
  [0x7366746e, 'ntfs3'], [0xe0f5e1e2, 'erofs'], [0x73717368, 'squashfs'], [0x9660, 'iso9660'],
  [0x15013346, 'udf'], [0x01021997, '9p'], [0xff534d42, 'cifs'], [0xfe534d42, 'smb2'],
  [0x00c36400, 'ceph'], [0x01161970, 'gfs2'], [0x7461636f, 'ocfs2'], [0x3153464a, 'jfs'],
  [0x52654973, 'reiserfs'], [0x3434, 'nilfs2'], [0x5a4f4653, 'zonefs'], [0x27e0eb, 'cgroup'],
  [0x63677270, 'cgroup2'], [0x1cd1, 'devpts'], [0x64626720, 'debugfs'], [0x74726163, 'tracefs'],
  [0x958458f6, 'hugetlbfs'], [0xcafe4a11, 'bpf'], [0x73636673, 'securityfs'],
  [0xf97cff8c, 'selinuxfs'], [0x6165676c, 'pstore'], [0xde5e81e4, 'efivarfs'],
  [0x62656570, 'configfs'], [0x0187, 'autofs'], [0x28cd3d45, 'cramfs'], [0x72b6, 'jffs2'],
  [0x786f4256, 'vboxsf'], [0x47504653, 'gpfs'], [0x0bd00bd0, 'lustre'], [0x6e736673, 'nsfs'],
]);

const TMPFS_MAGIC = 0x01021994;

// ---------------------------------------------------------------- helpers

function readText(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return null;
  }
}

function readInt(file: string): number | null {
  const text = readText(file);
  if (text === null || !/^-?\d+$/.test(text)) return null;
  return Number(text);
}

function attempt<T>(fn: () => T): T | null {
  try {
    return fn();
  } catch {
    return null;
  }
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

// ---------------------------------------------------------------- system

function ioUringInfo(release: string): InfoReport['ioUring'] {
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

interface Mount {
  dev: string;
  mountPoint: string;
  fsType: string;
  source: string;
}

function mounts(): Mount[] {
  const text = readText('/proc/self/mountinfo');
  if (!text) return [];
  const unescape = (s: string): string => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
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

/** The mount a path lives on: the longest mount point above it, preferring the one with its device number. */
function mountOf(real: string | null, dev: string | null, all: Mount[]): Mount | null {
  if (!real) return null;
  const above = all.filter((m) => m.mountPoint === '/' || real === m.mountPoint || real.startsWith(m.mountPoint + '/'));
  const pick = (list: Mount[]): Mount | null =>
    list.reduce<Mount | null>((best, m) => (!best || m.mountPoint.length >= best.mountPoint.length ? m : best), null);
  return pick(above.filter((m) => m.dev === dev)) ?? pick(above);
}

interface BlockDevice {
  name: string | null;
  number: string;
  queue: string | null;
}

/** The block device `major:minor` in sysfs, with the queue/ folder of the whole disk. */
function blockDevice(number: string): BlockDevice | null {
  const sys = `/sys/dev/block/${number}`;
  const real = attempt(() => fs.realpathSync(sys));
  if (!real) return null;
  const uevent = readText(path.join(sys, 'uevent')) ?? '';
  const name = /^DEVNAME=(.*)$/m.exec(uevent)?.[1] ?? path.basename(real);
  // A partition has no queue/ of its own: its disk is the parent folder.
  const isPartition = fs.existsSync(path.join(real, 'partition'));
  const queue = path.join(isPartition ? path.dirname(real) : real, 'queue');
  return { name, number, queue: fs.existsSync(queue) ? queue : null };
}

function scheduler(queue: string | null): string | null {
  const text = queue ? readText(path.join(queue, 'scheduler')) : null;
  if (!text) return null;
  const bracketed = /\[([^\]]+)\]/.exec(text)?.[1];
  if (bracketed) return bracketed;
  return text.split(/\s+/).length === 1 ? text : null;
}

// ---------------------------------------------------------------- O_DIRECT probe

/**
 * Writes (when `write`) and reads `size` bytes at offset 0 of `fd` through
 * an AIO context; returns null when both worked, else what failed.
 */
function aioRoundTrip(fd: number, size: number, memAlign: number, write: boolean): string | null {
  let ctx: IoContext | undefined;
  try {
    ctx = IoContext.setup(1);
    const run = (cb: Iocb, what: string): string | null => {
      ctx!.submit([cb]);
      const [ev] = ctx!.getEvents(1, 1, 10_000);
      if (!ev) return `the ${what} did not complete within 10 s`;
      if (ev.res < 0) return `an aligned ${size}-byte ${what} through AIO failed: ${describeError(new AioError(-ev.res, 'io_getevents'))}`;
      if (write && ev.res !== size) return `an aligned ${size}-byte ${what} through AIO transferred ${ev.res} bytes`;
      return null;
    };
    const out = allocAligned(size, memAlign);
    if (write) {
      for (let i = 0; i < size; i += 4) out.writeUInt32LE((0x9e3779b9 * (i + 1)) >>> 0, i);
      const failed = run(new Iocb().prepPwrite(fd, out, 0), 'write');
      if (failed) return failed;
    }
    const back = allocAligned(size, memAlign);
    const failed = run(new Iocb().prepPread(fd, back, 0), 'read');
    if (failed) return failed;
    if (write && !back.equals(out)) return 'an aligned write and read through AIO returned different data';
    return null;
  } catch (err) {
    return `AIO failed: ${describeError(err)}${err instanceof AioError && err.hint ? ` (${err.hint})` : ''}`;
  } finally {
    attempt(() => ctx?.destroy());
  }
}

function openDirectError(err: unknown): PathInfo['oDirect'] {
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'EINVAL') return { works: false, detail: 'no: the file system refuses O_DIRECT (EINVAL at open)' };
  return { works: null, detail: `unknown: cannot open with O_DIRECT (${describeError(err)})` };
}

interface Probe {
  oDirect: PathInfo['oDirect'];
  facts: NativeFileFacts | null;
}

/** Tries O_DIRECT where `p` (a `kind`) is; `facts` are of the file it opened, if any. */
function probeDirect(p: string, kind: PathInfo['kind'], logical: () => number | null): Probe {
  const sizeFor = (facts: NativeFileFacts | null): { size: number; mem: number } => {
    const lb = facts?.logicalBlockSize || logical() || 0;
    return {
      size: Math.max(4096, facts?.dioOffsetAlign ?? 0, lb),
      mem: Math.max(4096, facts?.dioMemAlign ?? 0),
    };
  };
  if (kind === 'directory') {
    const probe = path.join(p, `.linux-aio-info-${process.pid}-${Date.now().toString(36)}`);
    let fd = -1;
    try {
      try {
        fd = fs.openSync(probe, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_DIRECT, 0o600);
      } catch (err) {
        const code = (err as { code?: unknown } | null)?.code;
        if (code === 'EINVAL') return { oDirect: openDirectError(err), facts: null };
        return { oDirect: { works: null, detail: `unknown: cannot create a probe file here (${describeError(err)})` }, facts: null };
      }
      const facts = attempt(() => native.fileFacts(fd));
      const { size, mem } = sizeFor(facts);
      const failed = aioRoundTrip(fd, size, mem, true);
      return {
        oDirect: failed
          ? { works: false, detail: `no: open works, but ${failed}` }
          : { works: true, detail: `yes: a probe file took an aligned ${size}-byte write and read through AIO` },
        facts,
      };
    } finally {
      if (fd >= 0) attempt(() => fs.closeSync(fd));
      attempt(() => fs.rmSync(probe, { force: true }));
    }
  }
  if (kind === 'file' || kind === 'block device') {
    let fd = -1;
    try {
      try {
        fd = fs.openSync(p, fs.constants.O_RDONLY | fs.constants.O_DIRECT);
      } catch (err) {
        return { oDirect: openDirectError(err), facts: null };
      }
      const facts = attempt(() => native.fileFacts(fd));
      let { size, mem } = sizeFor(facts);
      // A device smaller than a page: read one logical block.
      if (kind === 'block device' && facts && facts.size > 0 && facts.size < size && facts.logicalBlockSize > 0) {
        size = facts.logicalBlockSize;
      }
      const failed = aioRoundTrip(fd, size, mem, false);
      return {
        oDirect: failed
          ? { works: false, detail: `no: open works, but ${failed}` }
          : { works: true, detail: `yes: opened read-only with O_DIRECT and read ${size} aligned bytes through AIO` },
        facts,
      };
    } finally {
      if (fd >= 0) attempt(() => fs.closeSync(fd));
    }
  }
  return { oDirect: { works: null, detail: `not applicable to a ${kind ?? 'path of unknown kind'}` }, facts: null };
}

// ---------------------------------------------------------------- per path

function kindOf(st: fs.Stats): PathInfo['kind'] {
  if (st.isDirectory()) return 'directory';
  if (st.isFile()) return 'file';
  if (st.isBlockDevice()) return 'block device';
  if (st.isCharacterDevice()) return 'character device';
  if (st.isFIFO()) return 'fifo';
  if (st.isSocket()) return 'socket';
  return null;
}

const devNumber = (major: number, minor: number): string => `${major}:${minor}`;

/** Linux's encoding of dev_t (as in <sys/sysmacros.h>). */
function splitDev(dev: number): [number, number] {
  const d = BigInt(dev);
  const major = Number(((d >> 8n) & 0xfffn) | ((d >> 32n) & 0xfffff000n));
  const minor = Number((d & 0xffn) | ((d >> 12n) & 0xffffff00n));
  return [major, minor];
}

function emptyPathInfo(p: string): PathInfo {
  return {
    path: p,
    realPath: null,
    kind: null,
    error: null,
    fileSystem: { type: null, magic: null, mountPoint: null },
    oDirect: { works: null, detail: 'unknown' },
    dioAlignment: { memory: null, offset: null, source: null },
    blockSize: { logical: null, physical: null, fileSystem: null },
    device: { name: null, number: null, rotational: null, scheduler: null },
  };
}

/** Everything `info` can find out about `p`. Never throws. */
export function pathInfo(p: string, allMounts: Mount[] = mounts()): PathInfo {
  const info = emptyPathInfo(p);
  try {
    let st: fs.Stats;
    try {
      st = fs.statSync(p);
    } catch (err) {
      info.error = describeError(err);
      return info;
    }
    info.realPath = attempt(() => fs.realpathSync(p));
    info.kind = kindOf(st);

    // The file system, and the device it is on (or, for a block device, the device itself).
    const fsDev = devNumber(...splitDev(st.dev));
    const mount = mountOf(info.realPath, fsDev, allMounts);
    const statfs = attempt(() => fs.statfsSync(p));
    const magic = statfs ? Number(statfs.type) >>> 0 : null;
    info.fileSystem.magic = magic === null ? null : `0x${magic.toString(16)}`;
    info.fileSystem.type = mount?.fsType ?? (magic === null ? null : FS_MAGIC.get(magic) ?? null);
    info.fileSystem.mountPoint = mount?.mountPoint ?? null;
    info.blockSize.fileSystem = statfs?.bsize || null;

    let dev: BlockDevice | null = null;
    if (info.kind === 'block device') {
      dev = blockDevice(devNumber(...splitDev(st.rdev)));
    } else {
      dev = blockDevice(fsDev);
      // btrfs, and anything else with an anonymous st_dev: ask the mount's source.
      if (!dev && mount?.source.startsWith('/dev/')) {
        const src = attempt(() => fs.statSync(mount.source));
        if (src?.isBlockDevice()) dev = blockDevice(devNumber(...splitDev(src.rdev)));
      }
    }
    if (dev) {
      info.device.name = dev.name;
      info.device.number = dev.number;
      if (dev.queue) {
        const rot = readInt(path.join(dev.queue, 'rotational'));
        info.device.rotational = rot === null ? null : rot !== 0;
        info.device.scheduler = scheduler(dev.queue);
        info.blockSize.logical = readInt(path.join(dev.queue, 'logical_block_size'));
        info.blockSize.physical = readInt(path.join(dev.queue, 'physical_block_size'));
      }
    }

    const probe = probeDirect(p, info.kind, () => info.blockSize.logical);
    info.oDirect = probe.oDirect;
    if (magic === TMPFS_MAGIC && info.kind !== 'block device' && probe.oDirect.works) {
      info.oDirect.detail += ' (tmpfs: a memory copy, no device I/O)';
    }
    const facts = probe.facts;
    if (facts) {
      if (facts.logicalBlockSize > 0) info.blockSize.logical = facts.logicalBlockSize;
      if (facts.physicalBlockSize > 0) info.blockSize.physical = facts.physicalBlockSize;
    }
    if (facts && facts.dioMemAlign > 0 && facts.dioOffsetAlign > 0) {
      info.dioAlignment = { memory: facts.dioMemAlign, offset: facts.dioOffsetAlign, source: 'statx' };
    } else if (info.blockSize.logical) {
      const lb = info.blockSize.logical;
      info.dioAlignment = { memory: lb, offset: lb, source: 'logical block size' };
    }
  } catch (err) {
    // Nothing above should throw; if something does, report what is known.
    info.error ??= `could not examine: ${describeError(err)}`;
  }
  return info;
}

/** The whole report for `paths`. Never throws. */
export function gatherInfo(paths: readonly string[]): InfoReport {
  const kernel = attempt(() => os.release()) ?? 'unknown';
  const allMounts = mounts();
  return {
    kernel,
    aio: { nr: readInt('/proc/sys/fs/aio-nr'), maxNr: readInt('/proc/sys/fs/aio-max-nr') },
    ioUring: ioUringInfo(kernel),
    paths: paths.map((p) => pathInfo(p, allMounts)),
  };
}

// ---------------------------------------------------------------- text

const show = (v: string | number | null | undefined): string => (v === null || v === undefined || v === '' ? 'unknown' : String(v));
const yesNo = (v: boolean | null): string => (v === null ? 'unknown' : v ? 'yes' : 'no');

/** The report as the text `linux-aio info` prints. */
export function formatInfo(r: InfoReport): string {
  const rows = (pairs: [string, string][], indent: string): string => {
    const width = Math.max(...pairs.map(([k]) => k.length));
    return pairs.map(([k, v]) => `${indent}${k.padEnd(width)}  ${v}`).join('\n') + '\n';
  };
  const free = r.aio.nr !== null && r.aio.maxNr !== null ? `, ${Math.max(0, r.aio.maxNr - r.aio.nr)} free` : '';
  let out = rows([
    ['kernel', show(r.kernel)],
    ['aio-nr', `${show(r.aio.nr)} of aio-max-nr ${show(r.aio.maxNr)} (events in AIO contexts, system-wide${free})`],
    ['io_uring', r.ioUring.detail],
  ], '');
  for (const p of r.paths) {
    out += `\n${p.path}${p.realPath && p.realPath !== p.path ? ` (${p.realPath})` : ''}\n`;
    if (p.error) {
      out += `  error: ${p.error}\n`;
      continue;
    }
    let fsType = p.fileSystem.type === null ? 'unknown' :
      `${p.fileSystem.type}${p.fileSystem.magic ? ` (magic ${p.fileSystem.magic})` : ''}`;
    const raw = p.kind === 'block device';
    if (raw) fsType = `none, a raw block device (its node is on ${show(p.fileSystem.type)})`;
    const dev = p.device.name === null && p.device.number === null ? 'unknown' :
      `${show(p.device.name)}${p.device.number ? ` (${p.device.number})` : ''}`;
    const align = p.dioAlignment.memory === null ? 'unknown' :
      `memory ${p.dioAlignment.memory}, offset ${show(p.dioAlignment.offset)} (from ${p.dioAlignment.source})`;
    out += rows([
      ['kind', show(p.kind)],
      ['file system', fsType],
      ...(raw ? [] : [['mount point', show(p.fileSystem.mountPoint)] as [string, string]]),
      ['O_DIRECT', p.oDirect.detail],
      ['DIO alignment', align],
      ['block size', `logical ${show(p.blockSize.logical)}, physical ${show(p.blockSize.physical)}` +
        (raw ? '' : `, file system ${show(p.blockSize.fileSystem)}`)],
      ['device', dev],
      ['rotational', yesNo(p.device.rotational)],
      ['scheduler', show(p.device.scheduler)],
    ], '  ');
  }
  return out;
}

/** Runs `linux-aio info` with `argv` (the arguments after `info`); returns the exit code. */
export async function main(argv: string[], io: CliIo = processIo): Promise<number> {
  let values: { json?: boolean; help?: boolean };
  let positionals: string[];
  try {
    ({ values, positionals } = parseFlags(argv, { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, true));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.err(`linux-aio info: ${err.message} (see linux-aio info --help)\n`);
    return 2;
  }
  if (values.help) {
    io.out(usage);
    return 0;
  }
  const report = gatherInfo(positionals.length > 0 ? positionals : [process.cwd()]);
  io.out(values.json ? `${JSON.stringify(report, null, 2)}\n` : formatInfo(report));
  return report.paths.some((p) => p.error !== null) ? 1 : 0;
}
