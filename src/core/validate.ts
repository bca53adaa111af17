/**
 * Argument checks shared by the public API: bad input from JavaScript
 * throws TypeError or RangeError before anything reaches C or the kernel.
 * Each carries Node's `code` for the kind of mistake, as Node's own
 * argument errors do, so that callers (and the fuzz test) can tell the
 * library's refusals from an accidental TypeError inside it.
 * @internal
 * @module
 */
import { types } from 'node:util';
import { isKnownFixed, rememberFixed } from './view-facts.js';

// The built-in getters, not the properties of the objects given: a view may
// carry an own `buffer` (or a subclass a getter) that hides a resizable
// ArrayBuffer behind a fixed one. The addon finds the real memory.
const getter = (proto: object, name: string): ((this: unknown) => unknown) | undefined =>
  Object.getOwnPropertyDescriptor(proto, name)?.get;
const typedArrayBuffer = getter(Object.getPrototypeOf(Uint8Array.prototype) as object, 'buffer')!;
const dataViewBuffer = getter(DataView.prototype, 'buffer')!;
const arrayBufferResizable = getter(ArrayBuffer.prototype, 'resizable');
const sharedGrowable = getter(SharedArrayBuffer.prototype, 'growable');

/**
 * True when the memory under `view` can change size (a resizable
 * ArrayBuffer, a growable SharedArrayBuffer), asked of the real ArrayBuffer
 * through the built-in getters, whatever the view's own properties say.
 */
export function isOnResizableMemory(view: ArrayBufferView): boolean {
  const memory = (types.isDataView(view) ? dataViewBuffer : typedArrayBuffer).call(view);
  const ask = types.isSharedArrayBuffer(memory) ? sharedGrowable : arrayBufferResizable;
  return ask !== undefined && ask.call(memory) === true;
}

/** The `code` of an argument error, as in Node: a wrong type, a number out of range, a value not allowed. */
export type ArgErrorCode = 'ERR_INVALID_ARG_TYPE' | 'ERR_OUT_OF_RANGE' | 'ERR_INVALID_ARG_VALUE';

/** A TypeError or RangeError that says which kind of bad argument it is. */
export type ArgError<E extends Error> = E & { code: ArgErrorCode };

function coded<E extends Error>(err: E, code: ArgErrorCode): ArgError<E> {
  return Object.assign(err, { code });
}

/** An argument of the wrong type (`ERR_INVALID_ARG_TYPE`). */
export function argTypeError(message: string): ArgError<TypeError> {
  return coded(new TypeError(message), 'ERR_INVALID_ARG_TYPE');
}

/** A number outside what is allowed (`ERR_OUT_OF_RANGE`). */
export function argRangeError(message: string): ArgError<RangeError> {
  return coded(new RangeError(message), 'ERR_OUT_OF_RANGE');
}

/** A value of the right type that is not one of those allowed (`ERR_INVALID_ARG_VALUE`). */
export function argValueError(message: string): ArgError<TypeError> {
  return coded(new TypeError(message), 'ERR_INVALID_ARG_VALUE');
}

export function checkFd(fd: unknown, name = 'fd'): number {
  if (typeof fd !== 'number' || !Number.isInteger(fd) || fd < 0 || fd > 0x7fffffff) {
    throw typeof fd === 'number'
      ? argRangeError(`${name} must be an integer from 0 to 2^31-1, got ${fd}`)
      : argTypeError(`${name} must be a number, got ${typeof fd}`);
  }
  return fd;
}

export function checkOffset(offset: unknown, name = 'offset'): number {
  if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) {
    throw typeof offset === 'number'
      ? argRangeError(`${name} must be a non-negative safe integer, got ${offset}`)
      : argTypeError(`${name} must be a number, got ${typeof offset}`);
  }
  return offset;
}

export function checkCount(n: unknown, name: string, min = 0, max = 0x7fffffff): number {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
    throw typeof n === 'number'
      ? argRangeError(`${name} must be an integer from ${min} to ${max}, got ${n}`)
      : argTypeError(`${name} must be a number, got ${typeof n}`);
  }
  return n;
}

export function checkView(buf: unknown, name = 'buffer'): ArrayBufferView {
  if (!ArrayBuffer.isView(buf)) {
    throw argTypeError(`${name} must be a Buffer, TypedArray or DataView, got ${describe(buf)}`);
  }
  if (isDetached(buf)) {
    throw argValueError(`${name} is detached: its ArrayBuffer was transferred, and it has no memory`);
  }
  if (isKnownFixed(buf)) return buf;
  // A resizable ArrayBuffer can shrink while the request waits in a queue or
  // runs in the kernel: the request would then move fewer bytes than asked
  // (a read would look like the end of the file) or none at all.
  if (isOnResizableMemory(buf)) {
    throw argValueError(`${name} is a view of a resizable ArrayBuffer, which could shrink under the request: use a fixed-length buffer (allocAligned gives one)`);
  }
  rememberFixed(buf);
  return buf;
}

/**
 * True when the view's ArrayBuffer was transferred (structuredClone,
 * postMessage): a detached view has no memory, and a request built on it
 * would silently move no bytes. Only empty views need the full test.
 */
function isDetached(view: ArrayBufferView): boolean {
  let length: number;
  try {
    length = view.byteLength;
  } catch {
    return true; // a DataView over a detached buffer throws here
  }
  if (length !== 0 || view.buffer.byteLength !== 0) return false;
  try {
    new Uint8Array(view.buffer, 0, 0);
    return false;
  } catch {
    return true;
  }
}

export function checkViews(bufs: unknown, name = 'buffers'): ArrayBufferView[] {
  if (!Array.isArray(bufs)) throw argTypeError(`${name} must be an array of buffers, got ${describe(bufs)}`);
  if (bufs.length > 1024) throw argRangeError(`${name} may hold at most 1024 buffers (IOV_MAX), got ${bufs.length}`);
  const copy = new Array<ArrayBufferView>(bufs.length);
  for (let i = 0; i < bufs.length; i++) copy[i] = checkView(bufs[i], `${name}[${i}]`);
  return copy;
}

export function checkTimeout(ms: unknown): number {
  if (ms === undefined) return -1;
  if (typeof ms !== 'number' || Number.isNaN(ms) || ms < 0) {
    throw typeof ms === 'number'
      ? argRangeError(`timeoutMs must be a non-negative number, got ${ms}`)
      : argTypeError(`timeoutMs must be a number, got ${typeof ms}`);
  }
  return ms === Infinity ? -1 : ms;
}

/** A value as an error message shows it; unlike String(), never throws (an object's toString may). */
export function shown(v: unknown): string {
  if (typeof v === 'string') return `'${v}'`;
  if (typeof v === 'object' && v !== null) return describe(v);
  return typeof v === 'symbol' ? 'a symbol' : String(v);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? (v.constructor?.name ?? 'object') : typeof v;
}
