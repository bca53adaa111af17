/**
 * `linux-aio adder`: the Linux AIO guide's sample program with its flags.
 * The program itself is examples/adder.ts; this module parses and checks the
 * flags, prints the log lines and the result, and turns failures into one
 * line and an exit code.
 * @module
 */
import { ADDER_DEFAULTS, AdderError, runAdder, type AdderOptions, type AdderResult, type Log } from '../../examples/adder.js';
import { errorText } from '../util/error-text.js';
import { UsageError, intFlag, parseFlags } from '../util/flags.js';
import { processIo, type CliIo } from './io.js';

export const usage = `Usage: linux-aio adder [flags]

Writes integer i at the start of 4 KiB block i of a file with Linux AIO and
O_DIRECT, reads the blocks back and checks their sum: the sample program of
the Linux AIO guide (examples/adder.ts).

Flags (with underscores or dashes, as "--flag value" or "--flag=value"):
  --path PATH                file to manipulate (default ${ADDER_DEFAULTS.path})
  --file_size N              length of the file in 4 KiB blocks, at least 1
                             (default ${ADDER_DEFAULTS.fileSize})
  --concurrent_requests N    size of the AIO context, and most requests in
                             flight at once, at least 1 (default ${ADDER_DEFAULTS.concurrentRequests})
  --min_nr N                 min_nr of io_getevents while submitting, at
                             least 0; 0 polls (default ${ADDER_DEFAULTS.minNr})
  --max_nr N                 max_nr of every io_getevents, at least 1 and
                             at least min_nr (default ${ADDER_DEFAULTS.maxNr})
  --verbose                  print the sample's log lines on stderr
  -h, --help                 print this help

On success the last line is "Successfully calculated that the sum of integers
from 0 to N-1 is S". Exit status: 0 success, 1 wrong sum ("Expected X Got Y")
or a file that cannot be used, 2 bad flags.
`;

const INT32_MAX = 0x7fffffff;
/** IoContext.setup's upper bound; the kernel's is /proc/sys/fs/aio-max-nr. */
const MAX_CONTEXT = 1 << 20;

const options = {
  path: { type: 'string' },
  'file-size': { type: 'string' },
  'concurrent-requests': { type: 'string' },
  'min-nr': { type: 'string' },
  'max-nr': { type: 'string' },
  verbose: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/**
 * Parses and checks the sample's flags.
 * @returns the options, or 'help'
 * @throws UsageError with a one-line message
 */
export function parseAdderArgs(argv: readonly string[]): { options: AdderOptions; verbose: boolean } | 'help' {
  const { values } = parseFlags(argv, options);
  if (values.help) return 'help';
  const path = values.path ?? ADDER_DEFAULTS.path;
  if (path === '') throw new UsageError('--path must not be empty');
  const fileSize = intFlag('file_size', values['file-size'], ADDER_DEFAULTS.fileSize, 1, INT32_MAX);
  const concurrentRequests = intFlag('concurrent_requests', values['concurrent-requests'],
    ADDER_DEFAULTS.concurrentRequests, 1, MAX_CONTEXT);
  const minNr = intFlag('min_nr', values['min-nr'], ADDER_DEFAULTS.minNr, 0, INT32_MAX);
  const maxNr = intFlag('max_nr', values['max-nr'], ADDER_DEFAULTS.maxNr, 1, INT32_MAX);
  if (minNr > maxNr) throw new UsageError(`--min_nr (${minNr}) must not be greater than --max_nr (${maxNr})`);
  return { options: { path, fileSize, concurrentRequests, minNr, maxNr }, verbose: values.verbose === true };
}

/** A line in glog's format, as the sample's LOG(INFO) writes: `I1126 09:30:00.123456  4242 adder.ts] ...`. */
function glogLine(message: string): string {
  const micros = Math.floor((performance.timeOrigin + performance.now()) * 1000);
  const d = new Date(Math.floor(micros / 1000));
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `I${p(d.getMonth() + 1)}${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.` +
    `${p(micros % 1_000_000, 6)} ${String(process.pid).padStart(5)} adder.ts] ${message}\n`;
}

/** Runs `linux-aio adder` with `argv` (the arguments after `adder`); returns the exit code. */
export async function main(argv: string[], io: CliIo = processIo,
  run: (options: AdderOptions, log: Log) => Promise<AdderResult> = runAdder): Promise<number> {
  let parsed: ReturnType<typeof parseAdderArgs>;
  try {
    parsed = parseAdderArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.err(`linux-aio adder: ${err.message} (see linux-aio adder --help)\n`);
    return 2;
  }
  if (parsed === 'help') {
    io.out(usage);
    return 0;
  }
  const log: Log = parsed.verbose ? (message) => io.err(glogLine(message)) : () => {};
  let result: AdderResult;
  try {
    result = await run(parsed.options, log);
  } catch (err) {
    // One line that names the path and the cause.
    const { path } = parsed.options;
    const cause = err instanceof AdderError ? err.message : errorText(err);
    const text = cause.includes(path) ? cause : `${path}: ${cause}`;
    io.err(`linux-aio adder: ${text}\n`);
    return 1;
  }
  if (!result.ok) {
    io.err(`${result.message}\n`);
    return 1;
  }
  io.out(`${result.message}\n`);
  return 0;
}
