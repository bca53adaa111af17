/**
 * Everything that can be found out about a path, and the whole report of
 * `linux-aio info`: the kernel, the AIO event limits, io_uring, and per path
 * the file system, O_DIRECT (tried), the DIO alignment, the block sizes and
 * the device under it. Anything unknown is `null`; nothing here throws.
 * @internal
 * @module
 */
import fs from 'node:fs';
import os from 'node:os';
import { describeError } from '../util/error-text.js';
import { attempt, readInt } from '../util/read-text.js';
import { blockDevice, devNumber, queueFacts, splitDev, type BlockDevice } from './devices.js';
import { FS_MAGIC, TMPFS_MAGIC } from './fs-magic.js';
import { ioUringInfo, type IoUringInfo } from './io-uring.js';
import { mountOf, mounts, type Mount } from './mounts.js';
import { probeDirect, type ODirect, type PathKind } from './o-direct.js';

/** Everything `info` reports; `null` is unknown. */
export interface InfoReport {
  kernel: string;
  aio: { nr: number | null; maxNr: number | null };
  ioUring: IoUringInfo;
  paths: PathInfo[];
}

/** The facts about one path. */
export interface PathInfo {
  path: string;
  realPath: string | null;
  kind: PathKind;
  /** Why the path could not be examined (it does not exist, ...). */
  error: string | null;
  fileSystem: { type: string | null; magic: string | null; mountPoint: string | null };
  oDirect: ODirect;
  dioAlignment: { memory: number | null; offset: number | null; source: string | null };
  blockSize: { logical: number | null; physical: number | null; fileSystem: number | null };
  device: { name: string | null; number: string | null; rotational: boolean | null; scheduler: string | null };
}

function kindOf(st: fs.Stats): PathKind {
  if (st.isDirectory()) return 'directory';
  if (st.isFile()) return 'file';
  if (st.isBlockDevice()) return 'block device';
  if (st.isCharacterDevice()) return 'character device';
  if (st.isFIFO()) return 'fifo';
  if (st.isSocket()) return 'socket';
  return null;
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

/** Everything that can be found out about `p`. Never throws. */
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
        const q = queueFacts(dev.queue);
        info.device.rotational = q.rotational;
        info.device.scheduler = q.scheduler;
        info.blockSize.logical = q.logicalBlockSize;
        info.blockSize.physical = q.physicalBlockSize;
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
