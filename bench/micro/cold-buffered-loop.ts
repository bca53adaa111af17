/**
 * Issue 12's event-loop measurement: how long the event loop is held up
 * while random 4 KiB reads run on a buffered file whose page cache was
 * just dropped, through each engine forced in turn (threadpool, aio, uring)
 * and through 'auto'. Linux AIO runs buffered reads synchronously inside
 * io_submit, so the loop waits for the disk; the thread pool and io_uring
 * do not.
 *
 *   node dist/bench/micro/cold-buffered-loop.js [--rounds 3] [--reads 2000] [--depth 32] [--file F]
 *
 * Needs root (/proc/sys/vm/drop_caches). The engines run in interleaved
 * rounds, in a rotating order; each figure is the median over rounds of the
 * event-loop delay percentiles (perf_hooks, 1 ms resolution) and of the
 * reads per second. Prints the load average beside them: the machine may
 * be shared.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { open, type EngineName } from '../../src/index.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    reads: { type: 'string', default: '2000' },
    depth: { type: 'string', default: '32' },
    file: { type: 'string', default: path.join(os.tmpdir(), 'linux-aio-cold-buffered.dat') },
    size: { type: 'string', default: String(256 << 20) },
  },
});
const rounds = Number(values.rounds);
const reads = Number(values.reads);
const depth = Number(values.depth);
const size = Number(values.size);
const file = values.file!;

function ensureFile(): void {
  if (fs.existsSync(file) && fs.statSync(file).size >= size) return;
  const fd = fs.openSync(file, 'w');
  const chunk = Buffer.alloc(1 << 20, 0x5a);
  for (let off = 0; off < size; off += chunk.length) fs.writeSync(fd, chunk, 0, chunk.length, off);
  fs.fsyncSync(fd);
  fs.closeSync(fd);
}

function dropCaches(): void {
  fs.writeFileSync('/proc/sys/vm/drop_caches', '1');
}

interface Run { p50: number; p99: number; max: number; rate: number }

async function runOne(engine: 'auto' | EngineName): Promise<Run & { served: string }> {
  dropCaches();
  const f = await open(file, 'r', { direct: false, engine });
  const h = monitorEventLoopDelay({ resolution: 1 });
  const blocks = Math.floor(size / 4096);
  let next = 0;
  let seed = 12345;
  const rand = (): number => (seed = (seed * 1103515245 + 12345) % 2147483648) % blocks;
  const started = performance.now();
  h.enable();
  const worker = async (): Promise<void> => {
    const buf = Buffer.alloc(4096);
    while (next < reads) {
      next++;
      await f.read(buf, rand() * 4096);
    }
  };
  await Promise.all(Array.from({ length: depth }, worker));
  h.disable();
  const secs = (performance.now() - started) / 1000;
  await f.close();
  return { served: f.engine, p50: h.percentile(50) / 1e6, p99: h.percentile(99) / 1e6, max: h.max / 1e6, rate: reads / secs };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('needs root, to drop the page cache');
  ensureFile();
  const engines = ['threadpool', 'aio', 'uring', 'auto'] as const;
  const results = new Map<string, Run[]>(engines.map((e) => [e, []]));
  const served = new Map<string, string>();
  const loadBefore = os.loadavg()[0]!;
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < engines.length; i++) {
      const e = engines[(i + r) % engines.length]!;
      const run = await runOne(e);
      served.set(e, run.served);
      results.get(e)!.push(run);
    }
  }
  const loadAfter = os.loadavg()[0]!;
  console.log(`cold buffered 4 KiB random reads, QD${depth}, ${reads} reads per run, ${rounds} interleaved rounds; ` +
    `kernel ${os.release()}, ${os.cpus().length} CPUs, load average ${loadBefore.toFixed(1)} → ${loadAfter.toFixed(1)}`);
  console.log('engine            loop delay p50 / p99 / max (ms)   reads/s');
  for (const e of engines) {
    const rs = results.get(e)!;
    const name = e === 'auto' ? `auto (${served.get(e)})` : e;
    console.log(`${name.padEnd(18)}${median(rs.map((x) => x.p50)).toFixed(2).padStart(8)} / ${median(rs.map((x) => x.p99)).toFixed(2).padStart(7)} / ` +
      `${median(rs.map((x) => x.max)).toFixed(2).padStart(8)}        ${median(rs.map((x) => x.rate)).toFixed(0).padStart(7)}`);
  }
}

await main();
