/**
 * One fixed AIO workload for reap-paths.test.ts, run on a context the
 * caller makes: writes, reads (single and vectored), reads at and across
 * the end of the file, misaligned reads, fsync, and a poll on a FIFO; reaped
 * with a mix of getEvents and waitEvents bounds. Returns the completions in
 * a normal form (sorted by request, buffers as digests) so that two reap
 * paths can be compared exactly.
 *
 * As a child process (LINUX_AIO_REAP_CHILD=1, LINUX_AIO_REAP_DIR=dir) it
 * runs the workload on a default context and prints one JSON line; otherwise
 * it does nothing (node --test runs every .js file under dist/test).
 */
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import type { IoContext as IoContextT, Iocb as IocbT, IoEvent } from '../../src/index.js';

const BS = 4096;
const BLOCKS = 64;

export interface NormalEvent {
  data: number;
  kind: string;
  res: number;
  res2: number;
  digest: string;
}

export interface WorkloadResult {
  reapMode: string;
  events: NormalEvent[];
  reapCalls: number;
  submitted: number;
  completed: number;
}

function blockByte(b: number): number {
  return (b * 29 + 3) & 0xff;
}

function digest(buf: unknown): string {
  const h = crypto.createHash('sha256');
  const parts = Array.isArray(buf) ? buf : buf === undefined ? [] : [buf];
  for (const p of parts as ArrayBufferView[]) h.update(new Uint8Array(p.buffer, p.byteOffset, p.byteLength));
  return h.digest('hex').slice(0, 16);
}

export async function runWorkload(ctx: IoContextT, dir: string): Promise<WorkloadResult> {
  const { Iocb, POLL, allocAligned } = await import('../../src/index.js');
  const file = path.join(dir, `reap-${process.pid}-${ctx.reapMode}-${Date.now()}`);
  const fifo = `${file}.fifo`;
  execFileSync('mkfifo', ['-m', '600', fifo]);
  const fifoR = fs.openSync(fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  const fifoW = fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
  const fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_DIRECT, 0o600);
  const kinds = new Map<IocbT, string>();
  const events: IoEvent[] = [];
  try {
    // Phase 1: write the file through AIO, one block per request.
    const writes: IocbT[] = [];
    for (let b = 0; b < BLOCKS; b++) {
      const buf = allocAligned(BS).fill(blockByte(b));
      buf.writeUInt32LE(b, 0);
      const cb = new Iocb().prepPwrite(fd, buf, b * BS);
      cb.data = 1000 + b;
      kinds.set(cb, 'write');
      writes.push(cb);
    }
    await submitAndReap(ctx, writes, events);

    // Phase 2: everything else.
    const reqs: IocbT[] = [];
    const add = (cb: IocbT, kind: string): void => {
      cb.data = reqs.length;
      kinds.set(cb, kind);
      reqs.push(cb);
    };
    for (let i = 0; i < 40; i++) add(new Iocb().prepPread(fd, allocAligned(BS), ((i * 37) % BLOCKS) * BS), 'read');
    for (let i = 0; i < 6; i++) add(new Iocb().prepPreadv(fd, [allocAligned(BS), allocAligned(2 * BS)], i * 3 * BS), 'readv');
    add(new Iocb().prepPread(fd, allocAligned(BS), BLOCKS * BS), 'read-at-eof');
    add(new Iocb().prepPread(fd, allocAligned(2 * BS), (BLOCKS - 1) * BS), 'read-across-eof');
    add(new Iocb().prepPread(fd, allocAligned(BS), 100), 'read-misaligned');
    add(new Iocb().prepFsync(fd), 'fsync');
    add(new Iocb().prepFdsync(fd), 'fdsync');
    add(new Iocb().prepPoll(fifoR, POLL.IN), 'poll');
    add(new Iocb().prepPoll(fifoW, POLL.OUT), 'poll');
    fs.writeSync(fifoW, 'x');
    await submitAndReap(ctx, reqs, events);
  } finally {
    fs.closeSync(fd);
    fs.closeSync(fifoR);
    fs.closeSync(fifoW);
    fs.rmSync(file, { force: true });
    fs.rmSync(fifo, { force: true });
  }
  const normal = events.map((e): NormalEvent => {
    const kind = kinds.get(e.obj)!;
    // What the kernel put past a short read is its own business: digest
    // only the bytes res says were read.
    const buf = kind === 'read-across-eof' ? (e.obj.buffer as Buffer).subarray(0, Math.max(e.res, 0)) : e.obj.buffer;
    return { data: e.data as number, kind, res: kind === 'poll' ? e.res & 0xffff : e.res, res2: e.res2, digest: kind === 'read-misaligned' ? '' : digest(buf) };
  });
  normal.sort((a, b) => a.data - b.data);
  const s = ctx.stats();
  return { reapMode: ctx.reapMode, events: normal, reapCalls: s.reapCalls, submitted: s.submitted, completed: s.completed };
}

/** Submits all, reaping with changing bounds, both blocking and awaited. */
async function submitAndReap(ctx: IoContextT, all: IocbT[], into: IoEvent[]): Promise<void> {
  let next = 0;
  let got = 0;
  let round = 0;
  while (got < all.length) {
    if (next < all.length) {
      try {
        next += ctx.submit(all.slice(next, next + 16));
      } catch (err) {
        if ((err as { code?: string }).code !== 'EAGAIN') throw err;
      }
    }
    let evs: IoEvent[];
    switch (round++ % 4) {
      case 0:
        evs = ctx.getEvents(0, 5);
        break;
      case 1:
        evs = ctx.inFlight > 0 ? ctx.getEvents(1, 7, 2000) : [];
        break;
      case 2:
        evs = ctx.getEvents(Math.min(3, ctx.inFlight), 3, 200);
        break;
      default:
        evs = ctx.inFlight > 0 ? await ctx.waitEvents(1, 16, 2000) : [];
    }
    into.push(...evs);
    got += evs.length;
  }
}

if (process.env.LINUX_AIO_REAP_CHILD === '1') {
  (async () => {
    const { IoContext } = await import('../../src/index.js');
    const ctx = IoContext.setup(32);
    const result = await runWorkload(ctx, process.env.LINUX_AIO_REAP_DIR!);
    ctx.destroy();
    process.stdout.write(`${JSON.stringify(result)}\n`);
  })().catch((err: unknown) => {
    process.stderr.write(`${(err as Error)?.stack ?? String(err)}\n`);
    process.exitCode = 3;
  });
}
