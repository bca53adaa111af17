/**
 * Whether O_DIRECT works at a path, tried rather than guessed: in a folder a
 * probe file is created with O_DIRECT (and, for the full probe, written and
 * read back through an AIO context), then removed; a file or block device is
 * opened read-only with O_DIRECT and its first block read.
 * @internal
 * @module
 */
import fs from 'node:fs';
import path from 'node:path';
import { AioError } from '../core/errors.js';
import { fileFacts, type FileFacts } from '../core/file-facts.js';
import { allocAligned } from '../core/memory.js';
import { IoContext } from '../lowlevel/io-context.js';
import { Iocb } from '../lowlevel/iocb.js';
import { errorText, describeError } from '../util/error-text.js';
import { attempt } from '../util/read-text.js';
import { isTmpfs } from './fs-magic.js';

/** What the probe found: `works` is null when it could not tell. */
export interface ODirect {
  works: boolean | null;
  detail: string;
}

/** The kinds of path {@link probeDirect} knows. */
export type PathKind = 'directory' | 'file' | 'block device' | 'character device' | 'fifo' | 'socket' | null;

let probes = 0;

/** Creates a new file in `dir`, opened read-write with O_DIRECT; throws what open(2) throws. */
function createProbe(dir: string): { fd: number; file: string } {
  const file = path.join(dir, `.linux-aio-probe-${process.pid}-${(probes++).toString(36)}`);
  const flags = fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_DIRECT;
  try {
    return { fd: fs.openSync(file, flags, 0o600), file };
  } catch (err) {
    // The kernel refuses O_DIRECT after it has created the file.
    attempt(() => fs.rmSync(file, { force: true }));
    throw err;
  }
}

function removeProbe(probe: { fd: number; file: string }): void {
  attempt(() => fs.closeSync(probe.fd));
  attempt(() => fs.rmSync(probe.file, { force: true }));
}

/**
 * Why a new file in `dir` cannot be opened with O_DIRECT (`EINVAL` where the
 * file system refuses it), or null when it can; no I/O is tried.
 */
export function directOpenError(dir: string): NodeJS.ErrnoException | null {
  try {
    removeProbe(createProbe(dir));
    return null;
  } catch (err) {
    return err as NodeJS.ErrnoException;
  }
}

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
    return `AIO failed: ${errorText(err)}`;
  } finally {
    attempt(() => ctx?.destroy());
  }
}

function openDirectError(err: unknown): ODirect {
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'EINVAL') return { works: false, detail: 'no: the file system refuses O_DIRECT (EINVAL at open)' };
  return { works: null, detail: `unknown: cannot open with O_DIRECT (${describeError(err)})` };
}

/** What {@link probeDirect} found, with the facts of the file it opened, if any. */
export interface Probe {
  oDirect: ODirect;
  facts: FileFacts | null;
}

/** Tries O_DIRECT where `p` (a `kind`) is; `logical` gives the device's logical block size where known. */
export function probeDirect(p: string, kind: PathKind, logical: () => number | null): Probe {
  const sizeFor = (facts: FileFacts | null): { size: number; mem: number } => {
    const lb = facts?.logicalBlockSize || logical() || 0;
    return {
      size: Math.max(4096, facts?.dioOffsetAlign ?? 0, lb),
      mem: Math.max(4096, facts?.dioMemAlign ?? 0),
    };
  };
  if (kind === 'directory') {
    let probe: { fd: number; file: string };
    try {
      probe = createProbe(p);
    } catch (err) {
      const code = (err as { code?: unknown } | null)?.code;
      if (code === 'EINVAL') return { oDirect: openDirectError(err), facts: null };
      return { oDirect: { works: null, detail: `unknown: cannot create a probe file here (${describeError(err)})` }, facts: null };
    }
    try {
      const facts = attempt(() => fileFacts(probe.fd));
      const { size, mem } = sizeFor(facts);
      const failed = aioRoundTrip(probe.fd, size, mem, true);
      return {
        oDirect: failed
          ? { works: false, detail: `no: open works, but ${failed}` }
          : { works: true, detail: `yes: a probe file took an aligned ${size}-byte write and read through AIO` },
        facts,
      };
    } finally {
      removeProbe(probe);
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
      const facts = attempt(() => fileFacts(fd));
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

/**
 * The first of `candidates` on a file system that is not tmpfs (where
 * O_DIRECT is a memory copy) and takes O_DIRECT, or null: a folder for files
 * whose I/O must reach a device.
 */
export function deviceFolder(candidates: readonly string[]): string | null {
  return candidates.find((dir) => !isTmpfs(dir) && directOpenError(dir) === null) ?? null;
}
