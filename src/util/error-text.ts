/**
 * One line for an error, as the commands and the benchmark harness print it.
 * @internal
 * @module
 */
import util from 'node:util';

/** `EACCES: permission denied`, from a Node or AIO error; the message otherwise. */
export function describeError(err: unknown): string {
  const e = err as { code?: unknown; errno?: unknown } | null;
  if (e && typeof e.code === 'string' && typeof e.errno === 'number') {
    const text = util.getSystemErrorMap().get(-Math.abs(e.errno))?.[1];
    if (text) return `${e.code}: ${text}`;
  }
  return err instanceof Error ? err.message : String(err);
}

/** {@link describeError}, followed by an AioError's hint: `EINVAL: invalid argument (hint)`. */
export function errorText(err: unknown): string {
  const hint = (err as { hint?: unknown } | null)?.hint;
  return describeError(err) + (typeof hint === 'string' && hint ? ` (${hint})` : '');
}
