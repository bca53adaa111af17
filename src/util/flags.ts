/**
 * Flag parsing for the commands and the benchmark harness: usage errors
 * (exit code 2) and `util.parseArgs` that also takes the gflags spellings of
 * the guide's sample (`--file_size`, `-file_size=5`).
 * @internal
 * @module
 */
import util from 'node:util';

/** Bad flags or arguments: reported on one line, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

type OptionSpec = { type: 'string' | 'boolean'; short?: string };

/**
 * Parses `argv` against `options` (keys in dashed spelling, `file-size`).
 * Flags may be spelled with underscores or dashes, with one dash or two, as
 * `--flag value` or `--flag=value`; the value of a string flag is the next
 * argument whatever it looks like (`--min_nr -1`), as gflags does. The last
 * of repeated flags wins.
 * @throws UsageError with a one-line message
 */
export function parseFlags<O extends Record<string, OptionSpec>>(
  argv: readonly string[],
  options: O,
  allowPositionals = false,
): { values: { [K in keyof O]?: O[K]['type'] extends 'boolean' ? boolean : string }; positionals: string[] } {
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const tok = argv[i]!;
    if (tok === '--') {
      args.push(...argv.slice(i));
      break;
    }
    const m = /^--?([A-Za-z][\w-]*)(=[\s\S]*)?$/.exec(tok);
    const name = m?.[1]?.replace(/_/g, '-');
    if (!m || !name || !(name in options) || (!tok.startsWith('--') && name.length === 1)) {
      args.push(tok);
      continue;
    }
    const spec = options[name]!;
    if (spec.type === 'string' && m[2] === undefined && i + 1 < argv.length) {
      args.push(`--${name}=${argv[++i]}`);
    } else {
      args.push(`--${name}${m[2] ?? ''}`);
    }
  }
  try {
    const parsed = util.parseArgs({ args, options, strict: true, allowPositionals });
    return parsed as never;
  } catch (err) {
    // parseArgs explains itself in several sentences; the first says what is wrong.
    const message = err instanceof Error ? err.message.split(/\.\s/)[0]!.replace(/\.$/, '') : String(err);
    throw new UsageError(message);
  }
}

/**
 * The integer value of flag `name` (shown as `--name`), from `min` to `max`.
 * @throws UsageError when it is not a decimal integer or out of range
 */
export function intFlag(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  const text = raw.trim();
  if (!/^[+-]?\d+$/.test(text)) throw new UsageError(`--${name} must be an integer, got '${raw}'`);
  const n = Number(text);
  if (n < min) throw new UsageError(`--${name} must be at least ${min}, got ${text}`);
  if (n > max) throw new UsageError(`--${name} must be at most ${max}, got ${text}`);
  return n;
}
