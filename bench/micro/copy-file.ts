/**
 * Issue 13's copy figures: one file (1 GiB by default) copied three ways,
 * each ending with fdatasync of the copy:
 * - linux-aio: pipeline(file.createReadStream(), createWriteStream(path));
 * - fs.copyFile (copy_file_range in the kernel where it can);
 * - pipeline(fs.createReadStream, fs.createWriteStream).
 *
 *   node dist/bench/micro/copy-file.js [--rounds 3] [--size BYTES] [--dir DIR]
 *
 * Each copy runs in a process of its own, so that its peak RSS is its own.
 * The methods run in interleaved rounds, in a rotating order; the source's
 * page cache is dropped before each copy (dd iflag=nocache) and the copy is
 * removed after it (the source too, at the end). Prints each round's times, each method's time relative
 * to linux-aio in that round, and the load average: the machine may be shared.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createWriteStream, open } from '../../src/index.js';

const METHODS = ['linux-aio', 'copyFile', 'fs streams'] as const;
type Method = (typeof METHODS)[number];

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    size: { type: 'string', default: String(1 << 30) },
    dir: { type: 'string', default: '/var/tmp' },
    child: { type: 'string' },
    src: { type: 'string' },
    dst: { type: 'string' },
  },
});

/** One copy, in this process: prints its time and peak RSS as JSON. */
async function copyOnce(method: Method, src: string, dst: string): Promise<void> {
  const t0 = performance.now();
  if (method === 'linux-aio') {
    const from = await open(src, 'r');
    try {
      await pipeline(from.createReadStream(), createWriteStream(dst));
    } finally {
      await from.close();
    }
  } else {
    if (method === 'copyFile') await fs.promises.copyFile(src, dst);
    else await pipeline(fs.createReadStream(src), fs.createWriteStream(dst));
    const fh = await fs.promises.open(dst, 'r+');
    await fh.datasync();
    await fh.close();
  }
  const ms = performance.now() - t0;
  console.log(JSON.stringify({ ms, maxRssMiB: process.resourceUsage().maxRSS / 1024 }));
}

function makeSource(src: string, size: number): void {
  if (fs.existsSync(src) && fs.statSync(src).size === size) return;
  const fd = fs.openSync(src, 'w');
  const piece = Buffer.alloc(8 << 20);
  for (let at = 0; at < size; at += piece.length) fs.writeSync(fd, randomFillSync(piece), 0, Math.min(piece.length, size - at), at);
  fs.fsyncSync(fd);
  fs.closeSync(fd);
}

/** The same bytes at a few places, and the same size. */
function sameBytes(a: string, b: string, size: number): boolean {
  if (fs.statSync(b).size !== size) return false;
  const fa = fs.openSync(a, 'r'), fb = fs.openSync(b, 'r');
  try {
    const x = Buffer.alloc(1 << 20), y = Buffer.alloc(1 << 20);
    for (const at of [0, Math.floor(size / 3), Math.max(0, size - x.length)]) {
      const n = fs.readSync(fa, x, 0, x.length, at);
      if (fs.readSync(fb, y, 0, y.length, at) !== n || !x.subarray(0, n).equals(y.subarray(0, n))) return false;
    }
    return true;
  } finally {
    fs.closeSync(fa);
    fs.closeSync(fb);
  }
}

async function main(): Promise<void> {
  if (values.child) return copyOnce(values.child as Method, values.src!, values.dst!);
  const rounds = Number(values.rounds);
  const size = Number(values.size);
  const src = path.join(values.dir!, 'linux-aio-copy-src.dat');
  const dst = path.join(values.dir!, 'linux-aio-copy-dst.dat');
  makeSource(src, size);
  const self = fileURLToPath(import.meta.url);
  const rows: { round: number; method: Method; ms: number; maxRssMiB: number; load: string }[] = [];
  console.log(`copy of ${(size / 1048576).toFixed(0)} MiB in ${values.dir}, ${rounds} rounds, kernel ${os.release()}, ${os.cpus().length} CPUs`);
  try {
    for (let r = 0; r < rounds; r++) {
      for (let k = 0; k < METHODS.length; k++) {
        const method = METHODS[(r + k) % METHODS.length]!;
        fs.rmSync(dst, { force: true });
        execFileSync('sync');
        execFileSync('dd', [`if=${src}`, 'iflag=nocache', 'count=0', 'status=none']);
        const load = os.loadavg().map((l) => l.toFixed(2)).join(' ');
        const out = execFileSync(process.execPath, [self, '--child', method, '--src', src, '--dst', dst], { encoding: 'utf8' });
        const { ms, maxRssMiB } = JSON.parse(out.trim().split('\n').pop()!) as { ms: number; maxRssMiB: number };
        if (!sameBytes(src, dst, size)) throw new Error(`${method}: the copy differs from the source`);
        rows.push({ round: r + 1, method, ms, maxRssMiB, load });
        console.log(`round ${r + 1}: ${method.padEnd(10)} ${ms.toFixed(0).padStart(6)} ms  ${(size / 1048576 / (ms / 1000)).toFixed(0).padStart(4)} MiB/s  peak RSS ${maxRssMiB.toFixed(0)} MiB  load ${load}`);
      }
    }
  } finally {
    fs.rmSync(dst, { force: true });
    fs.rmSync(src, { force: true });
  }
  for (const method of METHODS) {
    const ratios = rows.filter((x) => x.method === method).map((x) => {
      const base = rows.find((y) => y.round === x.round && y.method === 'linux-aio')!;
      return (x.ms / base.ms).toFixed(2);
    });
    console.log(`${method.padEnd(10)} time relative to linux-aio, per round: ${ratios.join(', ')}`);
  }
}

await main();
