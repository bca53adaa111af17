/**
 * One line for an error, as the commands and the benchmark harness print it.
 * @internal
 * @module
 */
import util from 'node:util';

/**
 * Errno 95. libuv names it ENOTSUP with a text about sockets, which misleads
 * about a file; Linux names it EOPNOTSUPP, as AioError does. With no hint from
 * the library, the reader is told what to do about it.
 */
const EOPNOTSUPP = 95;
const EOPNOTSUPP_TEXT = 'operation not supported';
const EOPNOTSUPP_ADVICE = 'the kernel, file system or device does not offer this operation or flag here;'
  + ' drop the flag or use another file system, and see what a path allows with linux-aio info PATH';

function hintOf(err: unknown): string | undefined {
  const hint = (err as { hint?: unknown } | null)?.hint;
  return typeof hint === 'string' && hint ? hint : undefined;
}

/**
 * `EACCES: permission denied`, from a Node or AIO error; the message otherwise.
 * Errno 95 reads `EOPNOTSUPP: operation not supported`, followed by what to do
 * when the error has no hint of its own.
 */
export function describeError(err: unknown): string {
  const e = err as { code?: unknown; errno?: unknown } | null;
  if (e && typeof e.code === 'string' && typeof e.errno === 'number') {
    if (Math.abs(e.errno) === EOPNOTSUPP) {
      return `EOPNOTSUPP: ${EOPNOTSUPP_TEXT}${hintOf(err) === undefined ? ` (${EOPNOTSUPP_ADVICE})` : ''}`;
    }
    const text = util.getSystemErrorMap().get(-Math.abs(e.errno))?.[1];
    if (text) return `${e.code}: ${text}`;
  }
  return err instanceof Error ? err.message : String(err);
}

/** {@link describeError}, followed by an AioError's hint: `EINVAL: invalid argument (hint)`. */
export function errorText(err: unknown): string {
  const hint = hintOf(err);
  return describeError(err) + (hint === undefined ? '' : ` (${hint})`);
}
