import { native } from './native.js';
import { checkCount, checkFd } from './validate.js';

/**
 * Creates a non-blocking, close-on-exec eventfd to route completions to with
 * `Iocb.setEventfd` (for your own epoll loop, or another thread). Close it
 * with `fs.closeSync`.
 */
export function eventfd(initval = 0): number {
  return native.eventfdCreate(checkCount(initval, 'initval', 0, 0xffffffff));
}

/**
 * Reads and resets an eventfd's counter: how many completions signalled it
 * (0 if none, without blocking, even on an eventfd made without
 * EFD_NONBLOCK). The counter comes back as a number: exact up to 2^53
 * (completions add one each, so only a counter written to directly can
 * exceed that, up to 2^64 - 2, and then loses precision).
 * @throws AioError `EINVAL` when `fd` is not an eventfd (a file or a pipe
 * would lose 8 bytes, or block), `EBADF` when it is not open
 */
export function eventfdRead(fd: number): number {
  return native.eventfdRead(checkFd(fd));
}
