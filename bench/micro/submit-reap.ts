/**
 * Issue 2's micro-benchmark: the cost per request of submit + reap through
 * the low-level API (IoContext.submit + IoContext.getEvents) for batches of
 * 1, 32 and 256, beside the same loop in C (submit-reap.c), in one run.
 *
 *   node dist/bench/micro/submit-reap.js [--runs 5] [--read FILE]
 *
 * Each figure is the median of --runs alternating runs of both systems; the
 * ratio is the median of the per-pair ratios, which the machine's noise
 * moves much less than either absolute figure.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { IoContext, Iocb, POLL, allocAligned, eventfd } from '../../src/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const source = path.resolve(here, '../../../bench/micro/submit-reap.c');

function buildC(): string {
  const out = path.join(os.tmpdir(), `linux-aio-submit-reap-${process.pid}`);
  execFileSync('cc', ['-O2', '-Wall', '-Wextra', '-Werror', '-o', out, source]);
  return out;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Nanoseconds per request for `iters` rounds of `batch` requests. */
function runJs(mode: 'poll' | 'read', batch: number, iters: number, file?: string): number {
  const fd = mode === 'read' ? fs.openSync(file!, fs.constants.O_RDONLY | fs.constants.O_DIRECT) : eventfd(1);
  const ctx = IoContext.setup(batch);
  const iocbs = Array.from({ length: batch }, () => new Iocb());
  const bufs = Array.from({ length: batch }, () => allocAligned(4096));
  let sink = 0;
  let elapsed = 0;
  for (let pass = 0; pass < 2; pass++) {
    const t0 = process.hrtime.bigint();
    for (let it = 0; it < iters; it++) {
      for (let i = 0; i < batch; i++) {
        if (mode === 'read') iocbs[i]!.prepPread(fd, bufs[i]!, (((it * batch + i) * 7919) % 256) * 4096);
        else iocbs[i]!.prepPoll(fd, POLL.IN);
      }
      let done = 0;
      while (done < batch) done += ctx.submit(done === 0 ? iocbs : iocbs.slice(done));
      for (const ev of ctx.getEvents(batch, batch)) sink += ev.res;
    }
    elapsed = Number(process.hrtime.bigint() - t0);
  }
  ctx.destroy();
  fs.closeSync(fd);
  if (sink < 0) console.error('unexpected negative results');
  return elapsed / (iters * batch);
}

function main(): void {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '7' }, read: { type: 'string' } } });
  const runs = Number(values.runs);
  const cBin = buildC();
  const modes: ('poll' | 'read')[] = values.read ? ['poll', 'read'] : ['poll'];
  console.log(`# submit + reap, ns per request (median of ${runs}); ${os.cpus().length} CPUs, ${os.cpus()[0]?.model}, Linux ${os.release()}, Node ${process.version}`);
  console.log('| op | batch | C raw syscalls | linux-aio IoContext | ratio |');
  console.log('|---|---:|---:|---:|---:|');
  for (const mode of modes) {
    for (const batch of [1, 32, 256]) {
      const iters = Math.max(200, Math.floor(200_000 / batch));
      const c: number[] = [];
      const js: number[] = [];
      for (let r = 0; r < runs; r++) {
        const args = [mode, String(batch), String(iters)];
        if (mode === 'read') args.push(values.read!);
        c.push(Number(execFileSync(cBin, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()));
        js.push(runJs(mode, batch, iters, values.read));
      }
      const ratio = median(js.map((j, r) => j / c[r]!));
      console.log(`| ${mode} | ${batch} | ${median(c).toFixed(0)} | ${median(js).toFixed(0)} | ${ratio.toFixed(2)}x |`);
    }
  }
  fs.rmSync(cBin, { force: true });
}

main();
