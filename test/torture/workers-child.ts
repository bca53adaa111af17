/**
 * The worker-thread torture, run as a child process by
 * test/worker-terminate.test.ts so that a crash shows as a signal or an
 * exit code: ROUNDS rounds of 4 workers, each with its own engine doing
 * random I/O, terminated mid-flight. Prints one JSON line of figures:
 * AIO contexts mapped by this process (the `[aio]` mappings of
 * /proc/self/maps) after each round, /proc/sys/fs/aio-nr before and after,
 * RSS after round 20 and after the last.
 *
 *   node --expose-gc workers-child.js <dir> [rounds]
 */
import fs from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { allocAligned, eventfd } from '../../src/index.js';

const dir = process.argv[2]!;
const ROUNDS = Number(process.argv[3] ?? 100);
const WORKERS = 4;
const FILE_SIZE = 8 << 20;
const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'worker-io.js');
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});

function aioMappings(): number {
  return fs.readFileSync('/proc/self/maps', 'utf8').split('\n').filter((l) => l.includes('[aio]')).length;
}
function aioNr(): number {
  return Number(fs.readFileSync('/proc/sys/fs/aio-nr', 'utf8'));
}
function rssAfterGC(): number {
  gc();
  gc();
  return process.memoryUsage.rss();
}

const paths = Array.from({ length: WORKERS }, (_, i) => path.join(dir, `worker-${process.pid}-${i}`));
// Written through O_DIRECT, not left sparse: writes into holes would be
// answered EAGAIN under the engine's RWF_NOWAIT and retried on the thread
// pool, and the workers must be terminated with requests in the kernel.
const zeros = allocAligned(1 << 20);
for (const p of paths) {
  const fd = fs.openSync(p, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_TRUNC | fs.constants.O_DIRECT, 0o600);
  try {
    for (let at = 0; at < FILE_SIZE; at += zeros.length) fs.writeSync(fd, zeros, 0, zeros.length, at);
  } finally {
    fs.closeSync(fd);
  }
}

/** Never written: a poll on it is never answered. */
const pollFd = eventfd(0);
/**
 * Every fifth round's workers hold such a poll. (Not every round's: each
 * worker terminated with one costs some RSS, ~0.1-0.2 MiB measured, that
 * the RSS check below would add up.)
 */
const pollRound = (round: number): boolean => round % 5 === 1;
const baseMaps = aioMappings();
const aioNrBefore = aioNr();
const out = {
  rounds: 0, workers: 0, busyAtTerminate: 0, inFlightAtTerminate: 0, pollWorkers: 0, pollsAtTerminate: 0, terminatedEarly: 0,
  baseMaps, leakedMapsMax: 0, mapsMaxDuring: 0, aioNrBefore, aioNrAfter: 0, aioNrMaxDuring: 0,
  rss20: 0, rssEnd: 0, errors: [] as string[], exitCodes: {} as Record<string, number>,
};
let seed = 12345;
const rand = (n: number): number => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed % n;
};

for (let round = 1; round <= ROUNDS; round++) {
  // Most rounds wait until every worker has requests in the kernel; some
  // terminate a worker while it is still starting up.
  const early = round % 10 === 0;
  const workers = paths.map((p, id) => new Worker(script, { workerData: { path: p, id, fileSize: FILE_SIZE, pollFd: pollRound(round) ? pollFd : undefined } }));
  const busy = workers.map((w) => new Promise<{ busy: number; polls: number }>((resolve) => {
    w.on('message', (m: { busy?: number; polls?: number; error?: string }) => {
      if (m.error) out.errors.push(`round ${round}: ${m.error}`);
      if (m.busy !== undefined) resolve({ busy: m.busy, polls: m.polls ?? 0 });
    });
    w.on('error', (err) => {
      out.errors.push(`round ${round}: worker error ${String(err)}`);
      resolve({ busy: 0, polls: 0 });
    });
  }));
  if (!early) {
    const counts = await Promise.all(busy);
    out.busyAtTerminate += counts.filter((c) => c.busy > 0).length;
    out.inFlightAtTerminate += counts.reduce((a, c) => a + c.busy, 0);
    out.pollsAtTerminate += counts.reduce((a, c) => a + c.polls, 0);
    if (pollRound(round)) out.pollWorkers += WORKERS;
    await new Promise((r) => setTimeout(r, rand(4)));
  } else {
    out.terminatedEarly += WORKERS;
    await new Promise((r) => setTimeout(r, rand(30)));
  }
  out.aioNrMaxDuring = Math.max(out.aioNrMaxDuring, aioNr());
  out.mapsMaxDuring = Math.max(out.mapsMaxDuring, aioMappings() - baseMaps);
  const codes = await Promise.all(workers.map((w) => w.terminate()));
  for (const c of codes) out.exitCodes[String(c)] = (out.exitCodes[String(c)] ?? 0) + 1;
  out.workers += WORKERS;
  out.rounds = round;
  out.leakedMapsMax = Math.max(out.leakedMapsMax, aioMappings() - baseMaps);
  if (round === Math.min(20, ROUNDS)) out.rss20 = rssAfterGC();
}
out.rssEnd = rssAfterGC();
out.aioNrAfter = aioNr();
for (const p of paths) fs.rmSync(p, { force: true });
fs.closeSync(pollFd);
console.log(JSON.stringify(out));
