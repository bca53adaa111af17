import { native } from '../core/native.js';
import { checkCount, checkFd } from '../core/validate.js';

/**
 * Creates a non-blocking, close-on-exec eventfd to route completions to with
 * `Iocb.setEventfd` (for your own epoll loop, or another thread). Close it
 * with `fs.closeSync`.
 */
export function eventfd(initval = 0): number {
  return native.eventfdCreate(checkCount(initval, 'initval', 0, 0xffffffff));
}

/** Reads and resets an eventfd's counter: how many completions signalled it (0 if none). */
export function eventfdRead(fd: number): number {
  return native.eventfdRead(checkFd(fd));
}
