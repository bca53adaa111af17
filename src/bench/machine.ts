/**
 * The facts a benchmark table needs next to it: CPUs, kernel, Node, fio,
 * and the target's file system and device (from `linux-aio info`'s probes),
 * with the backing file of a loop device.
 * @internal
 * @module
 */
import os from 'node:os';
import { loopBacking } from '../sysinfo/devices.js';
import { pathInfo } from '../sysinfo/path-info.js';

/** Where and on what a bench ran. */
export interface MachineInfo {
  nproc: number;
  cpuModel: string | null;
  memoryGiB: number;
  kernel: string;
  node: string;
  fio: string | null;
  uvThreadpoolSize: number;
}

/** The target as `info` sees it. */
export interface TargetInfo {
  path: string;
  kind: string | null;
  size: number;
  temporary: boolean;
  fileSystem: string | null;
  device: string | null;
  rotational: boolean | null;
  scheduler: string | null;
  /** For a loop device: the file behind it, and whether the loop does direct I/O to it. */
  loopBacking: string | null;
  loopDirectIo: boolean | null;
  dioAlignment: { memory: number | null; offset: number | null };
}

export function machineInfo(fio: string | null): MachineInfo {
  const cpus = os.cpus();
  return {
    nproc: os.availableParallelism(),
    cpuModel: cpus[0]?.model?.trim() || null,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    kernel: os.release(),
    node: process.version,
    fio,
    uvThreadpoolSize: Number(process.env.UV_THREADPOOL_SIZE) || 4,
  };
}

export function targetInfo(target: { path: string; size: number; temporary: boolean }): TargetInfo {
  const p = pathInfo(target.path);
  const dev = p.device.name;
  const loop = dev && p.kind === 'block device' ? loopBacking(dev) : null;
  return {
    path: target.path,
    kind: p.kind,
    size: target.size,
    temporary: target.temporary,
    fileSystem: p.kind === 'block device' ? null : p.fileSystem.type,
    device: dev,
    rotational: p.device.rotational,
    scheduler: p.device.scheduler,
    loopBacking: loop?.file ?? null,
    loopDirectIo: loop?.directIo ?? null,
    dioAlignment: { memory: p.dioAlignment.memory, offset: p.dioAlignment.offset },
  };
}

/** One line: `ext4 on vda (rotational, mq-deadline)` / `block device loop0 (backed by /dev/shm/x, buffered)`. */
export function describeTarget(t: TargetInfo): string {
  const sched = [t.rotational === null ? null : t.rotational ? 'rotational' : 'non-rotational', t.scheduler ? `scheduler ${t.scheduler}` : null]
    .filter(Boolean).join(', ');
  if (t.kind === 'block device') {
    const backing = t.loopBacking ? `, backed by ${t.loopBacking}${t.loopDirectIo === false ? ' (loop direct-io off)' : t.loopDirectIo ? ' (loop direct-io on)' : ''}` : '';
    return `block device ${t.device ?? '?'}${backing}${sched ? `; ${sched}` : ''}`;
  }
  return `${t.temporary ? 'temporary file' : 'file'} on ${t.fileSystem ?? 'an unknown file system'}${t.device ? ` on ${t.device}` : ''}${sched ? ` (${sched})` : ''}`;
}

/** A few words for a chart: `ext4 file on vda` / `RAM loop device loop0` / `block device sdb`. */
export function shortTarget(t: TargetInfo): string {
  if (t.kind === 'block device') {
    if (t.loopBacking?.startsWith('/dev/shm/')) return `RAM-backed loop device ${t.device ?? ''}`.trim();
    return `block device ${t.device ?? '?'}`;
  }
  return `${t.fileSystem ?? 'file'} file${t.device ? ` on ${t.device}` : ''}`;
}
