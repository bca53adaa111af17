/**
 * What the request path learns once about each view it is given, so that a
 * buffer used again (the common case: aligned buffers made once and reused)
 * costs a lookup per request instead of two trips to its ArrayBuffer
 * (`view.buffer` is a call into V8's C++ runtime, not an inlined load).
 *
 * A view is in the map once it was checked not to be over a resizable
 * ArrayBuffer; its value is its first byte's address modulo 2^30 once that
 * was asked for, else {@link ADDRESS_UNKNOWN}. Neither fact can change for a
 * view: its buffer and offset are fixed, and backing stores never move.
 * Detaching is the one change a view can see, and it leaves the view empty,
 * which callers test through `byteLength` on every request.
 * @internal
 * @module
 */
import { native } from './native.js';

export const ADDRESS_UNKNOWN = -1;

const ADDRESS_MODULUS = 1 << 30;

const viewFacts = new WeakMap<ArrayBufferView, number>();
const bufferAddressLow = new WeakMap<ArrayBufferLike, number>();

/** True when `view` was already found to be over a fixed-length ArrayBuffer. */
export function isKnownFixed(view: ArrayBufferView): boolean {
  return viewFacts.has(view);
}

/** Records that `view`, not known before, is over a fixed-length ArrayBuffer. */
export function rememberFixed(view: ArrayBufferView): void {
  viewFacts.set(view, ADDRESS_UNKNOWN);
}

/**
 * The view's address modulo 2^30. The addon is asked once per ArrayBuffer,
 * and the answer kept per view as well.
 */
export function addressLow(view: ArrayBufferView): number {
  const known = viewFacts.get(view);
  if (known !== undefined && known !== ADDRESS_UNKNOWN) return known;
  const buffer = view.buffer;
  let base = bufferAddressLow.get(buffer);
  if (base === undefined) {
    base = (native.addressMod(view, ADDRESS_MODULUS) - view.byteOffset + ADDRESS_MODULUS) % ADDRESS_MODULUS;
    bufferAddressLow.set(buffer, base);
  }
  const low = (base + view.byteOffset) % ADDRESS_MODULUS;
  // Only a view already checked is remembered: addressLow alone says nothing of resizability.
  if (known !== undefined) viewFacts.set(view, low);
  return low;
}
