import { native } from './native.js';
import { argRangeError, checkView, shown } from './validate.js';
import { addressLow } from './view-facts.js';

/** The alignment that `allocAligned` uses when none is given: one page. */
export const DEFAULT_ALIGNMENT = 4096;

const MAX_ALIGNMENT = 1 << 30;

/** @throws RangeError unless `alignment` is a power of two from 1 to 2^30 */
function checkAlignment(alignment: unknown): void {
  if (
    typeof alignment !== 'number' || !Number.isInteger(alignment) || alignment < 1 ||
    alignment > MAX_ALIGNMENT || (alignment & (alignment - 1)) !== 0
  ) {
    throw argRangeError(`alignment must be a power of two from 1 to 2^30, got ${shown(alignment)}`);
  }
}

/**
 * Allocates a zero-filled Buffer of `size` bytes whose first byte sits at a
 * multiple of `alignment`, as O_DIRECT requires.
 *
 * The memory is an over-allocated ArrayBuffer inside V8's heap with an
 * aligned view into it: the garbage collector owns it like any Buffer, and it
 * works where external buffers are not allowed.
 *
 * @param size - bytes, a non-negative safe integer
 * @param alignment - a power of two from 1 to 2^30 (default 4096)
 * @throws RangeError when `size` or `alignment` is out of range
 */
export function allocAligned(size: number, alignment: number = DEFAULT_ALIGNMENT): Buffer {
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    throw argRangeError(`size must be a non-negative safe integer, got ${shown(size)}`);
  }
  checkAlignment(alignment);
  const backing = new ArrayBuffer(size + alignment);
  const skew = native.addressMod(new Uint8Array(backing, 0, 0), alignment);
  const start = skew === 0 ? 0 : alignment - skew;
  return Buffer.from(backing, start, size);
}

/**
 * The remainder of a view's address modulo `alignment` (a power of two up to
 * 2^30), learnt once per view (see view-facts.ts).
 */
export function addressRemainder(view: ArrayBufferView, alignment: number): number {
  return addressLow(view) % alignment;
}

/**
 * True when the view's address is a multiple of `alignment`.
 * @throws RangeError when `alignment` is not a power of two from 1 to 2^30
 */
export function isAddressAligned(view: ArrayBufferView, alignment: number): boolean {
  checkView(view, 'view');
  checkAlignment(alignment);
  return addressRemainder(view, alignment) === 0;
}
