/**
 * `npm run torture`: the model check of test/torture/model.ts from the
 * command line.
 *
 *   node dist/test/torture/main.js [--ops N] [--seed S] [--files N]
 *     [--file-size BYTES] [--max-length BYTES] [--phase-ops N] [--dir DIR]
 *     [--engine aio|uring] [--mix all|writeSide] [--quiet]
 *
 * Prints the seed first; `--seed` replays the same operations. Exits 0 when
 * every read matched the model, 1 with the failing operation otherwise.
 */
import { randomInt } from 'node:crypto';
import { parseArgs } from 'node:util';
import { diskDir } from '../helpers/disk.js';
import { KERNEL_ENGINE } from '../helpers/engine.js';
import { hex, parseSeed, runTorture, TortureFailure } from './model.js';

function count(name: string, v: string | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v.replace(/_/g, ''));
  if (!Number.isSafeInteger(n) || n <= 0) {
    console.error(`torture: --${name} must be a positive integer, got ${v}`);
    process.exit(2);
  }
  return n;
}

const { values } = parseArgs({
  options: {
    ops: { type: 'string' },
    seed: { type: 'string' },
    files: { type: 'string' },
    'file-size': { type: 'string' },
    'max-length': { type: 'string' },
    'phase-ops': { type: 'string' },
    dir: { type: 'string' },
    engine: { type: 'string' },
    mix: { type: 'string' },
    quiet: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (values.help) {
  console.log('usage: npm run torture -- [--ops N] [--seed S] [--files N] [--file-size BYTES] [--max-length BYTES] [--phase-ops N] [--dir DIR] [--engine aio|uring] [--mix all|writeSide] [--quiet]');
  process.exit(0);
}

let seed: number;
try {
  seed = values.seed !== undefined ? parseSeed(values.seed) : randomInt(0, 0xffffffff);
} catch (err) {
  console.error(`torture: ${(err as Error).message}`);
  process.exit(2);
}
const ops = count('ops', values.ops, 100_000);
const engine = values.engine ?? KERNEL_ENGINE;
if (engine !== 'aio' && engine !== 'uring') {
  console.error(`torture: --engine must be aio or uring, got ${engine}`);
  process.exit(2);
}
const mix = values.mix ?? 'all';
if (mix !== 'all' && mix !== 'writeSide') {
  console.error(`torture: --mix must be all or writeSide, got ${mix}`);
  process.exit(2);
}
let dir = values.dir;
if (!dir) {
  const d = diskDir();
  if (!d.dir) {
    console.error(`torture: ${d.skip}; pass --dir on a disk file system`);
    process.exit(2);
  }
  dir = d.dir;
}

const replay = `npm run torture -- --seed ${hex(seed)} --ops ${ops} --engine ${engine} --mix ${mix}`;
console.log(`torture: seed ${hex(seed)}, ${ops} operations in ${dir} on ${engine} (replay: ${replay})`);
try {
  const r = await runTorture({
    seed,
    ops,
    dir,
    files: count('files', values.files, 4),
    fileSize: count('file-size', values['file-size'], 8 << 20),
    maxLength: count('max-length', values['max-length'], 64 << 10),
    phaseOps: count('phase-ops', values['phase-ops'], 5000),
    engine,
    mix,
    log: values.quiet ? undefined : (line) => console.log(`  ${line}`),
  });
  const mib = (n: number): string => (n / 1048576).toFixed(1);
  console.log(
    `torture: PASS, seed ${hex(seed)}: ${r.ops} operations (${r.reads} reads, ${r.readvs} readv, ${r.writes} writes, ` +
      `${r.writevs} writev, ${r.writeAts} writeAt, ${r.streams} write streams (${r.abortedStreams} aborted), ` +
      `${r.syncs} fsync/fdatasync, ${r.aborted} aborted reads, ${r.shortReads} short reads) in ` +
      `${(r.ms / 1000).toFixed(1)} s; ${mib(r.bytesWritten)} MiB written, ${mib(r.bytesVerified)} MiB of reads and ` +
      `${mib(r.finalBytesVerified)} MiB on disk checked against the model; ${r.phases.length} phases, ` +
      `most in flight ${r.maxInFlight}, ${r.stalls} waits for overlapping requests, ` +
      `${r.fellBack} requests retried on the thread pool after EAGAIN`,
  );
} catch (err) {
  if (err instanceof TortureFailure) {
    console.error(`torture: FAIL: ${err.message}`);
  } else {
    console.error(`torture: FAIL, seed ${hex(seed)}:`, err);
  }
  process.exit(1);
}
