/**
 * Block devices in sysfs: the device under a file system or behind a device
 * node, its queue settings, and what a loop device is backed by.
 * @internal
 * @module
 */
import fs from 'node:fs';
import path from 'node:path';
import { attempt, readInt, readText } from '../util/read-text.js';

/** A device number as sysfs spells it. */
export const devNumber = (major: number, minor: number): string => `${major}:${minor}`;

/** Linux's encoding of dev_t (as in <sys/sysmacros.h>): [major, minor]. */
export function splitDev(dev: number): [number, number] {
  const d = BigInt(dev);
  const major = Number(((d >> 8n) & 0xfffn) | ((d >> 32n) & 0xfffff000n));
  const minor = Number((d & 0xffn) | ((d >> 12n) & 0xffffff00n));
  return [major, minor];
}

/** A block device found in sysfs. */
export interface BlockDevice {
  name: string | null;
  number: string;
  /** The queue/ folder of the whole disk (a partition has none of its own). */
  queue: string | null;
}

/** The block device `major:minor` in sysfs, or null when there is none. */
export function blockDevice(number: string): BlockDevice | null {
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

/** What a device's queue/ folder says; null where unknown. */
export interface QueueFacts {
  rotational: boolean | null;
  scheduler: string | null;
  logicalBlockSize: number | null;
  physicalBlockSize: number | null;
}

/** Reads a device's queue/ folder. */
export function queueFacts(queue: string): QueueFacts {
  const rot = readInt(path.join(queue, 'rotational'));
  return {
    rotational: rot === null ? null : rot !== 0,
    scheduler: scheduler(queue),
    logicalBlockSize: readInt(path.join(queue, 'logical_block_size')),
    physicalBlockSize: readInt(path.join(queue, 'physical_block_size')),
  };
}

/** The active I/O scheduler: the bracketed one of several, or the only one. */
function scheduler(queue: string): string | null {
  const text = readText(path.join(queue, 'scheduler'));
  if (!text) return null;
  const bracketed = /\[([^\]]+)\]/.exec(text)?.[1];
  if (bracketed) return bracketed;
  return text.split(/\s+/).length === 1 ? text : null;
}

/** For a loop device (`loop0`): the file behind it and whether the loop does direct I/O to it; else null. */
export function loopBacking(name: string): { file: string | null; directIo: boolean | null } | null {
  if (!/^loop\d+$/.test(name)) return null;
  const dir = path.join('/sys/block', name, 'loop');
  const dio = readText(path.join(dir, 'dio'));
  return { file: readText(path.join(dir, 'backing_file')), directIo: dio === null ? null : dio === '1' };
}
