/**
 * `linux-aio info [path...]`: what this machine allows (the facts come from
 * src/sysinfo/), as text or JSON. Anything that cannot be found out is
 * `unknown` (`null` in JSON).
 * @module
 */
import { engineReport, type EngineReport } from '../engine/select.js';
import { gatherInfo, type InfoReport } from '../sysinfo/path-info.js';
import { UsageError, parseFlags } from '../util/flags.js';
import { processIo, type CliIo } from './io.js';

export const usage = `Usage: linux-aio info [--json] [path...]

Prints what this machine allows for Linux AIO: the kernel version,
/proc/sys/fs/aio-nr and aio-max-nr, whether io_uring is available, which
engine open() picks for O_DIRECT and for buffered files and why, and for
each path (default: the current folder) the file-system type, whether O_DIRECT
works, the DIO alignment (memory and offset), the logical and physical block
size, the device, whether it is rotational and its I/O scheduler.

O_DIRECT is tried, not guessed: in a folder, a probe file is created, written
and read back through an AIO context, then removed; a file or block device is
opened read-only and its first block read. Nothing else is written.

Flags:
  --json       print the same as JSON
  -h, --help   print this help

Exit status: 0, or 1 when a path does not exist or cannot be examined; 2 for
bad flags.
`;

const show = (v: string | number | null | undefined): string => (v === null || v === undefined || v === '' ? 'unknown' : String(v));
const yesNo = (v: boolean | null): string => (v === null ? 'unknown' : v ? 'yes' : 'no');

/** The report as the text `linux-aio info` prints. */
export function formatInfo(r: InfoReport & { engines: EngineReport }): string {
  const rows = (pairs: [string, string][], indent: string): string => {
    const width = Math.max(...pairs.map(([k]) => k.length));
    return pairs.map(([k, v]) => `${indent}${k.padEnd(width)}  ${v}`).join('\n') + '\n';
  };
  const free = r.aio.nr !== null && r.aio.maxNr !== null ? `, ${Math.max(0, r.aio.maxNr - r.aio.nr)} free` : '';
  let out = rows([
    ['kernel', show(r.kernel)],
    ['aio-nr', `${show(r.aio.nr)} of aio-max-nr ${show(r.aio.maxNr)} (events in AIO contexts, system-wide${free})`],
    ['io_uring', r.ioUring.detail],
    ['io_uring ring', r.engines.uring.usable ? 'can be set up here' : `cannot be set up: ${r.engines.uring.reason}`],
    ['auto, O_DIRECT', `${r.engines.autoDirect.engine} (${r.engines.autoDirect.reason})`],
    ['auto, buffered', `${r.engines.autoBuffered.engine} (${r.engines.autoBuffered.reason})`],
    ['LINUX_AIO_ENGINE', r.engines.env === null ? 'unset' : `${r.engines.env} (used instead of auto where open() is given no engine)`],
  ], '');
  for (const p of r.paths) {
    out += `\n${p.path}${p.realPath && p.realPath !== p.path ? ` (${p.realPath})` : ''}\n`;
    if (p.error) {
      out += `  error: ${p.error}\n`;
      continue;
    }
    let fsType = p.fileSystem.type === null ? 'unknown' :
      `${p.fileSystem.type}${p.fileSystem.magic ? ` (magic ${p.fileSystem.magic})` : ''}`;
    const raw = p.kind === 'block device';
    if (raw) fsType = `none, a raw block device (its node is on ${show(p.fileSystem.type)})`;
    const dev = p.device.name === null && p.device.number === null ? 'unknown' :
      `${show(p.device.name)}${p.device.number ? ` (${p.device.number})` : ''}`;
    const align = p.dioAlignment.memory === null ? 'unknown' :
      `memory ${p.dioAlignment.memory}, offset ${show(p.dioAlignment.offset)} (from ${p.dioAlignment.source})`;
    out += rows([
      ['kind', show(p.kind)],
      ['file system', fsType],
      ...(raw ? [] : [['mount point', show(p.fileSystem.mountPoint)] as [string, string]]),
      ['O_DIRECT', p.oDirect.detail],
      ['DIO alignment', align],
      ['block size', `logical ${show(p.blockSize.logical)}, physical ${show(p.blockSize.physical)}` +
        (raw ? '' : `, file system ${show(p.blockSize.fileSystem)}`)],
      ['device', dev],
      ['rotational', yesNo(p.device.rotational)],
      ['scheduler', show(p.device.scheduler)],
    ], '  ');
  }
  return out;
}

/** Runs `linux-aio info` with `argv` (the arguments after `info`); returns the exit code. */
export async function main(argv: string[], io: CliIo = processIo): Promise<number> {
  let values: { json?: boolean; help?: boolean };
  let positionals: string[];
  try {
    ({ values, positionals } = parseFlags(argv, { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, true));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.err(`linux-aio info: ${err.message} (see linux-aio info --help)\n`);
    return 2;
  }
  if (values.help) {
    io.out(usage);
    return 0;
  }
  const report = { ...gatherInfo(positionals.length > 0 ? positionals : [process.cwd()]), engines: engineReport() };
  io.out(values.json ? `${JSON.stringify(report, null, 2)}\n` : formatInfo(report));
  return report.paths.some((p) => p.error !== null) ? 1 : 0;
}
