/**
 * User-space instructions per 4k read through `AioFile.read`, counted by
 * valgrind (cachegrind, no cache simulation) and so nearly free of the
 * machine's noise: what a change to the JavaScript or the addon costs or
 * saves, where timings on a shared 2-CPU machine spread by 10-20 %. Kernel
 * time is not counted (valgrind sees only user space): pair it with
 * `linux-aio bench` for the whole cost.
 *
 *   node dist/bench/micro/instructions-per-read.js [--qd 1,32] [--engine aio|uring] [--file PATH]
 *
 * Each figure is (I(n2) - I(n1)) / (n2 - n1) for runs of n1 and n2 reads, so
 * the start-up and the warm-up cancel. Node runs with --predictable (one
 * thread for the compiler and the collector), which makes two runs of the
 * same code count the same to within about 0.2 %; two builds of different
 * code can move by about 2 % through the compiler's inlining choices alone.
 * The "floor" row is the same loop awaiting a promise that a nextTick
 * resolves: what one promise per read costs V8 whatever the library does.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { allocAligned, open } from '../../src/index.js';

const BLOCK = 4096;
const FILE_SIZE = 256 << 20;
const N1 = 20_000;
const N2 = 100_000;

/** The measured loop: `qd` async lanes, each awaiting one read at a time, `total` reads in all. */
type Kind = 'aio' | 'uring' | 'floor';

async function child(kind: Kind, qd: number, total: number, file: string): Promise<void> {
  let left = total;
  let seed = 12345;
  const next = (): number => (seed = (seed * 1103515245 + 12345) >>> 0);
  const blocks = FILE_SIZE / BLOCK;
  if (kind === 'floor') {
    const waiting: ((n: number) => void)[] = [];
    let scheduled = false;
    const flush = (): void => {
      scheduled = false;
      for (const resolve of waiting.splice(0)) resolve(BLOCK);
    };
    const read = (): Promise<number> => new Promise((resolve) => {
      waiting.push(resolve);
      if (!scheduled) {
        scheduled = true;
        process.nextTick(flush);
      }
    });
    const lane = async (): Promise<void> => {
      while (left-- > 0) await read();
    };
    await Promise.all(Array.from({ length: qd }, lane));
    return;
  }
  const f = await open(file, 'r', { engine: kind });
  const lane = async (): Promise<void> => {
    const buf = allocAligned(BLOCK);
    while (left-- > 0) await f.read(buf, (next() % blocks) * BLOCK);
  };
  await Promise.all(Array.from({ length: qd }, lane));
  await f.close();
}

function instructions(kind: string, qd: number, total: number, file: string): number {
  const self = fileURLToPath(import.meta.url);
  const out = spawnSync('valgrind', ['--tool=cachegrind', '--cache-sim=no', '--cachegrind-out-file=/dev/null',
    process.execPath, '--predictable', self, '--child', kind, String(qd), String(total), file], { encoding: 'utf8' });
  const m = /I\s+refs:\s+([\d,]+)/.exec(out.stderr);
  if (out.status !== 0 || !m) throw new Error(`valgrind failed (${out.status}): ${out.stderr.slice(-500)}`);
  return Number(m[1]!.replaceAll(',', ''));
}

function perRead(kind: string, qd: number, file: string): number {
  return Math.round((instructions(kind, qd, N2, file) - instructions(kind, qd, N1, file)) / (N2 - N1));
}

async function main(): Promise<void> {
  if (process.argv[2] === '--child') {
    const [, , , kind, qd, total, file] = process.argv;
    return child(kind as Kind, Number(qd), Number(total), file!);
  }
  const { values } = parseArgs({ options: { qd: { type: 'string', default: '1,32' }, engine: { type: 'string', default: 'aio' }, file: { type: 'string' } },
  });
  const engine = values.engine;
  if (engine !== 'aio' && engine !== 'uring') throw new Error(`--engine must be aio or uring, got ${engine}`);
  if (spawnSync('valgrind', ['--version']).status !== 0) {
    console.log('skipped: valgrind is not installed (apt-get install -y valgrind)');
    return;
  }
  const file = values.file ?? path.join('/dev/shm', `linux-aio-ipr-${process.pid}`);
  const made = !values.file;
  if (made) {
    execFileSync('dd', ['if=/dev/urandom', `of=${file}`, 'bs=1M', `count=${FILE_SIZE >> 20}`, 'status=none']);
  }
  try {
    console.log(`# user-space instructions per 4k read (valgrind), engine ${engine}, ${file}; Node ${process.version}`);
    console.log('| QD | AioFile.read | floor: a promise per read | above the floor |');
    console.log('|---:|---:|---:|---:|');
    for (const qd of values.qd.split(',').map(Number)) {
      const read = perRead(engine, qd, file);
      const floor = perRead('floor', qd, file);
      console.log(`| ${qd} | ${read} | ${floor} | ${read - floor} |`);
    }
  } finally {
    if (made) fs.rmSync(file, { force: true });
  }
}

await main();
