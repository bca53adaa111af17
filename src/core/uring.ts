/**
 * What the io_uring engine needs from core beyond the shared context core:
 * its extra row opcode and the probe of whether a ring can be set up here.
 * @internal
 * @module
 */
import { native, type NativeUringProbe } from './native.js';

/**
 * The io_uring row opcode for fallocate (Linux AIO has none): the mode in
 * CMD.RW_FLAGS, the length in CMD.AUX (native/uring.h).
 */
export const URING_FALLOCATE = 64;

/**
 * The row opcode of a no-op (IOCB_CMD_NOOP's value): io_uring carries it
 * out (IORING_OP_NOP); Linux AIO refuses it, so the public `Opcode` has none.
 */
export const URING_NOP = 6;

export type UringProbe = NativeUringProbe;

/** Sets up a small ring and closes it: errno 0 when this process may use io_uring here, else why not. */
export function probeUring(): UringProbe {
  return native.uringProbe();
}
