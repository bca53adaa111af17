/**
 * Child-process main for worker.test.ts: runs a worker thread that keeps
 * AIO in flight, terminates it mid-flight (or exits the process under it),
 * goes on with its own I/O on the main thread, and prints one JSON line of
 * findings. The parent checks the exit code and the findings.
 *
 * Inert unless LINUX_AIO_WORKER_CHILD is 'terminate' or 'exit'
 * (node --test runs every .js file under dist/test, helpers included).
 */
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import type { WorkerIoData } from './worker-io.js';

const BS = 4096;
const BLOCKS = 64;
const WORKER_EVENTS = 4093; // distinctive, to tell the worker's context apart when debugging

function aioMappings(): number {
  return fs.readFileSync('/proc/self/maps', 'utf8').split('\n').filter((l) => l.includes('[aio]')).length;
}
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function main(mode: string): Promise<void> {
  const { IoContext, Iocb, allocAligned } = await import('../../src/index.js');
  const dir = process.env.LINUX_AIO_WORKER_DIR!;
  const file = path.join(dir, `worker-${process.pid}`);
  const fifo = path.join(dir, `worker-fifo-${process.pid}`);
  const content = allocAligned(BLOCKS * BS);
  for (let b = 0; b < BLOCKS; b++) {
    content.fill(b & 0xff, b * BS, (b + 1) * BS);
    content.writeUInt32LE(b, b * BS);
  }
  fs.writeFileSync(file, content);
  execFileSync('mkfifo', ['-m', '600', fifo]);
  const cleanup = (): void => {
    fs.rmSync(file, { force: true });
    fs.rmSync(fifo, { force: true });
  };

  const out: Record<string, unknown> = { mode };
  out.mapsStart = aioMappings();

  // The main thread's own context and I/O, before, during and after.
  const fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_DIRECT);
  const ctx = IoContext.setup(16);
  const readAll = async (): Promise<number> => {
    const cbs = Array.from({ length: 8 }, (_, i) => {
      const cb = new Iocb().prepPread(fd, allocAligned(BS), (i * 7 % BLOCKS) * BS);
      cb.data = i * 7 % BLOCKS;
      return cb;
    });
    ctx.submit(cbs);
    let ok = 0;
    let got = 0;
    while (got < cbs.length) {
      for (const e of await ctx.waitEvents(1, 8, 5000)) {
        got++;
        const b = e.data as number;
        const buf = e.obj.buffer as Buffer;
        if (e.res === BS && buf.readUInt32LE(0) === b && buf[BS - 1] === (b & 0xff)) ok++;
      }
    }
    return ok;
  };
  out.mainBefore = await readAll();

  const data: WorkerIoData = { kind: 'linux-aio-worker-io', path: file, fifo, maxEvents: WORKER_EVENTS, blockSize: BS, blocks: BLOCKS };
  const worker = new Worker(new URL('./worker-io.js', import.meta.url), { workerData: data });
  const errors: string[] = [];
  worker.on('error', (e) => errors.push(String(e?.stack ?? e)));
  const ready = await new Promise<{ type: string; inFlight?: number; completed?: number; message?: string }>((resolve) => {
    worker.on('message', (m) => {
      if (m.type === 'error') errors.push(m.message);
      resolve(m);
    });
    setTimeout(() => resolve({ type: 'timeout' }), 10_000).unref();
  });
  out.workerReady = ready;
  out.mapsDuring = aioMappings();
  out.mainDuring = await readAll();

  if (mode === 'exit') {
    // Exit the whole process with the worker's I/O in flight.
    out.errors = errors;
    process.stdout.write(`${JSON.stringify(out)}\n`);
    cleanup();
    process.exit(0);
  }

  const code = await worker.terminate();
  out.terminateCode = code;
  // Worker teardown destroys its context; allow a moment.
  let maps = aioMappings();
  for (let i = 0; i < 100 && maps !== (out.mapsStart as number) + 1; i++) {
    await sleep(20);
    maps = aioMappings();
  }
  out.mapsAfterWorker = maps;
  out.mainAfter = await readAll();
  ctx.destroy();
  fs.closeSync(fd);
  out.mapsEnd = aioMappings();
  out.errors = errors;
  cleanup();
  process.stdout.write(`${JSON.stringify(out)}\n`);
  // No process.exit: the process must end by itself.
}

const mode = process.env.LINUX_AIO_WORKER_CHILD;
if (mode === 'terminate' || mode === 'exit') {
  main(mode).catch((err: unknown) => {
    process.stderr.write(`${(err as Error)?.stack ?? String(err)}\n`);
    process.exitCode = 3;
  });
}
