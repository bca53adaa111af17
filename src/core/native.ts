/**
 * The only module that loads the compiled addon. Everything native goes
 * through the typed surface declared here.
 * @internal
 * @module
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import fs from 'node:fs';
import { packageRoot } from '../util/package-root.js';

/** Opaque handle of a native AIO context. */
export type ContextHandle = { readonly __brand: 'ContextHandle' };

export interface NativeSetup {
  handle: ContextHandle;
  capacity: number;
  cmd: Float64Array;
  events: Float64Array;
  /** Cells C writes for JavaScript: STATUS.INLINE_REAPED, STATUS.FIXED, STATUS.FIXED_FILES. */
  status: Float64Array;
  ringReap: boolean;
}

/** What `uringProbe` found: errno 0 when this process may use io_uring here. */
export interface NativeUringProbe {
  errno: number;
  /** IORING_FEAT_* bits of the kernel (0 when the ring could not be made). */
  features: number;
  /** The call that failed. */
  syscall?: string;
  hint?: string;
  /** An opcode the engine needs that the kernel lacks. */
  missing?: string;
}

export interface NativeFileFacts {
  isBlockDevice: boolean;
  size: number;
  dioMemAlign: number;
  dioOffsetAlign: number;
  logicalBlockSize: number;
  physicalBlockSize: number;
  fsType: number;
  fsBlockSize: number;
  devMajor: number;
  devMinor: number;
  rdevMajor: number;
  rdevMinor: number;
}

export interface NativeAddon {
  setup(maxEvents: number, forceSyscall: boolean, notify: () => void): NativeSetup;
  /**
   * Tears the context down; whether the kernel is done with every buffer of
   * its requests (false only for an io_uring ring whose teardown gave up
   * waiting with requests still in the kernel).
   */
  destroy(handle: ContextHandle): boolean;
  /** With `reapInline`, completions already in the ring are reaped into `events` (count in status). */
  submit(handle: ContextHandle, count: number, bufs: readonly unknown[] | null, reapInline?: boolean, ...buffers: unknown[]): number;
  reap(handle: ContextHandle, minNr: number, nr: number, timeoutMs: number): number;
  cancel(handle: ContextHandle, slot: number): number;
  inFlight(handle: ContextHandle): number;
  arm(handle: ContextHandle, on: boolean): void;
  eventfdCreate(initval?: number): number;
  eventfdRead(fd: number): number;
  addressMod(view: ArrayBufferView, modulus: number): number;
  fileFacts(fd: number): NativeFileFacts;
  /** Runs on libuv's thread pool; rejects with AioError. */
  fallocate(fd: number, mode: number, offset: number, length: number): Promise<void>;
  /** io_uring contexts share `destroy`, `arm` and `inFlight` with Linux AIO ones. */
  uringSetup(entries: number, notify: () => void): NativeSetup & { features: number };
  uringSubmit(handle: ContextHandle, count: number, bufs: readonly unknown[] | null, reapInline?: boolean, ...buffers: unknown[]): number;
  uringReap(handle: ContextHandle, minNr: number, nr: number, timeoutMs: number): number;
  /** 0 when the kernel was asked to cancel, ENOENT when nothing of the slot is in the kernel. */
  uringCancel(handle: ContextHandle, slot: number): number;
  uringProbe(): NativeUringProbe;
  /** IORING_REGISTER_BUFFERS of the views' memory, held by the ring until it is torn down; returns their count. */
  uringRegisterBuffers(handle: ContextHandle, views: ArrayBufferView[]): number;
  /** Puts `fd` in the ring's file table (made sparse, 1024 entries, on first use); returns its index. */
  uringRegisterFile(handle: ContextHandle, fd: number): number;
  /** Empties entry `index` of the ring's file table; whether it was in use. */
  uringUnregisterFile(handle: ContextHandle, index: number): boolean;
  setErrorClass(ctor: new (errno: number, syscall: string, hint?: string) => Error): void;
  liveContexts(): number;
}

/** Column layout of the rows shared with C (see native/addon.h). */
export const CMD = {
  SLOT: 0, OPCODE: 1, FD: 2, OFFSET: 3, RW_FLAGS: 4, RESFD: 5, REQPRIO: 6, AUX: 7, FIXED_FILE: 8, STRIDE: 9,
} as const;
/** CMD.RESFD values besides an eventfd: the context's own eventfd, or none (native/addon.h). */
export const RESFD = { CONTEXT: -1, NONE: -2 } as const;
export const EVT = { SLOT: 0, RES: 1, RES2: 2, STRIDE: 3 } as const;
export const STATUS = { INLINE_REAPED: 0, FIXED: 1, FIXED_FILES: 2 } as const;

/** node-gyp-build's finder: build/Release, build/Debug, then the best fit in prebuilds/<platform>-<arch>/. */
type AddonFinder = { path(dir: string): string };

function load(): NativeAddon {
  if (process.platform !== 'linux') {
    throw new Error(`linux-aio needs Linux (this is ${process.platform}); use node:fs instead`);
  }
  const require = createRequire(import.meta.url);
  // An addon built elsewhere (the sanitizer build of `npm run test:asan`, say).
  const override = process.env.LINUX_AIO_ADDON;
  if (override) {
    const file = path.resolve(override);
    if (!fs.existsSync(file)) throw new Error(`linux-aio: LINUX_AIO_ADDON names ${file}, which does not exist`);
    return require(file) as NativeAddon;
  }
  const root = packageRoot(import.meta.url);
  if (root === null) throw new Error('linux-aio: cannot find the package root');
  // A source build wins, as node-gyp-build would decide; looking for it here
  // first means a checkout needs node-gyp-build only to find a prebuilt addon.
  let file = path.join(root, 'build', 'Release', 'linux_aio.node');
  try {
    if (!fs.existsSync(file)) file = (require('node-gyp-build') as AddonFinder).path(root);
  } catch (err) {
    throw new Error(
      `linux-aio: no native addon fits this machine (${process.platform}-${process.arch}, Node ${process.versions.node}) ` +
      `in ${root}: neither a prebuilt one nor one built from source. Run "npm rebuild linux-aio" ` +
      `(it builds from source: needs a C compiler, make and Python), or "npm run build:native" in a clone.`,
      { cause: err });
  }
  try {
    return require(file) as NativeAddon;
  } catch (err) {
    throw new Error(
      `linux-aio: the native addon ${file} does not load here (${(err as Error).message}). ` +
      `Run "npm_config_build_from_source=true npm rebuild linux-aio" to build one for this machine.`, { cause: err });
  }
}

/** The loaded addon, one instance per thread (Node-API instance data). */
export const native: NativeAddon = load();
