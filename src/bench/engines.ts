/**
 * The Node engines behind one small interface: open the target, issue
 * one read or write, give the I/O counters, close. Each run is a process of
 * its own, so only one driver is ever live there and the call sites stay
 * monomorphic.
 * @internal
 * @module
 */
import fs from 'node:fs';
import { allocAligned } from '../core/memory.js';
import { IoQueue } from '../engine/io-queue.js';
import { open } from '../file/aio-file.js';
import { URING_ENGINES, type JobSpec, type NodeEngine } from './job.js';

/** Syscall counters of the kernel engines (aio, uring). */
export interface DriverStats {
  submitCalls: number;
  reapCalls: number;
  reapMode: 'ring' | 'syscall';
}

/** One open target, as one engine sees it. */
export interface Driver {
  readonly engine: NodeEngine;
  /** The alignment buffers need. */
  readonly memoryAlignment: number;
  read(buf: Buffer, position: number): Promise<unknown>;
  write(buf: Buffer, position: number): Promise<unknown>;
  /** The batch entry point (aio-many, uring-many): every range in one call. */
  many?(ranges: { buf: Buffer; position: number }[], write: boolean): Promise<unknown>;
  /** The job's `count` buffers of `size` bytes, where the engine provides them (uring-fixed: registered ones). */
  buffers?(count: number, size: number): Buffer[];
  /** Counters so far (the kernel engines only). */
  stats(): DriverStats | null;
  close(): Promise<void>;
}

const writes = (spec: JobSpec): boolean => spec.rw !== 'randread' && spec.rw !== 'read';

/** Opens `spec.path` for `spec.engine`. */
export async function openDriver(spec: JobSpec): Promise<Driver> {
  const flags = writes(spec) ? 'r+' : 'r';
  switch (spec.engine) {
    case 'aio':
    case 'aio-many':
    case 'uring':
    case 'uring-many':
    case 'uring-fixed':
    case 'uring-files':
    case 'uring-both': {
      const engine = URING_ENGINES.includes(spec.engine) ? 'uring' : 'aio';
      const queue = new IoQueue({ engine, depth: spec.iodepth });
      let file;
      try {
        const registerFile = spec.engine === 'uring-files' || spec.engine === 'uring-both';
        file = await open(spec.path, flags, { engine, direct: spec.direct, queue, registerFile });
      } catch (err) {
        await queue.close();
        throw err;
      }
      const f = file;
      const memoryAlignment = Math.max(4096, f.alignment.memory);
      const registered = (count: number, size: number): Buffer[] => {
        const arena = allocAligned(count * size, memoryAlignment);
        queue.registerBuffers([arena]);
        return Array.from({ length: count }, (_, i) => arena.subarray(i * size, (i + 1) * size));
      };
      return {
        engine: spec.engine,
        memoryAlignment,
        ...(spec.engine === 'uring-fixed' || spec.engine === 'uring-both' ? { buffers: registered } : {}),
        read: (buf, position) => f.read(buf, position),
        write: (buf, position) => f.write(buf, position),
        many: (ranges, write) => (write ? f.writeMany(ranges) : f.readMany(ranges)),
        stats: () => {
          const s = queue.stats();
          return { submitCalls: s.submitCalls, reapCalls: s.reapCalls, reapMode: queue.reapMode };
        },
        close: async () => {
          await f.close();
          await queue.close();
        },
      };
    }
    case 'threadpool': {
      const f = await open(spec.path, flags, { engine: 'threadpool', direct: spec.direct });
      return {
        engine: 'threadpool',
        memoryAlignment: Math.max(4096, f.alignment.memory),
        read: (buf, position) => f.read(buf, position),
        write: (buf, position) => f.write(buf, position),
        stats: () => null,
        close: () => f.close(),
      };
    }
    case 'fs': {
      const c = fs.constants;
      const osFlags = (writes(spec) ? c.O_RDWR : c.O_RDONLY) | (spec.direct ? c.O_DIRECT : 0);
      const fh = await fs.promises.open(spec.path, osFlags);
      return {
        engine: 'fs',
        memoryAlignment: 4096,
        read: (buf, position) => fh.read(buf, 0, buf.length, position),
        write: (buf, position) => fh.write(buf, 0, buf.length, position),
        stats: () => null,
        close: () => fh.close(),
      };
    }
  }
}
