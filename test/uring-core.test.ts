/**
 * The io_uring core (native/uring_*.c through ContextCore): each operation
 * against the real kernel, refused rows, slots, cancellation, timed waits,
 * a completion queue that overflows, and destroy with requests in flight.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { ContextCore, type StagedRequest } from '../src/core/context-core.js';
import { CMD, native } from '../src/core/native.js';
import { URING_FALLOCATE, URING_NOP } from '../src/core/uring.js';
import { Opcode } from '../src/core/constants.js';
import { AioError } from '../src/core/errors.js';
import '../src/index.js'; // registers AioError with the addon

const probe = native.uringProbe();
const skip = probe.errno === 0 ? undefined : `io_uring is not usable here (${probe.syscall}: errno ${probe.errno}${probe.hint ? `, ${probe.hint}` : ''})`;
const ECANCELED = os.constants.errno.ECANCELED;

function tempFile(t: { after(fn: () => void): void }, bytes: Buffer): { fd: number; file: string } {
  const file = path.join(os.tmpdir(), `uring-core-${process.pid}-${Math.random().toString(36).slice(2)}`);
  fs.writeFileSync(file, bytes);
  const fd = fs.openSync(file, 'r+');
  t.after(() => {
    fs.closeSync(fd);
    fs.rmSync(file, { force: true });
  });
  return { fd, file };
}

function newCore(t: { after(fn: () => void): void }, entries = 8): ContextCore {
  const core = new ContextCore(entries, false, () => {}, 'uring');
  t.after(() => core.destroy());
  return core;
}

/** A command row by name, with the context's eventfd and no priority. */
function staged(opcode: number, fd: number, position: number, buf: unknown, kernelFlags = 0, aux = 0): StagedRequest {
  return { opcode, fd, position, buf, kernelFlags, resfd: -1, reqprio: -1, aux, fixedFile: -1 };
}

/** Reaps until `want` completions are in; returns res by owner. */
function reapAll(core: ContextCore, want: number): Map<unknown, number> {
  const out = new Map<unknown, number>();
  while (out.size < want) {
    const n = core.reap(1, core.capacity, 2000);
    assert.ok(n > 0, 'a completion within 2 s');
    for (let i = 0; i < n; i++) {
      const slot = core.eventSlot(i);
      out.set(core.ownerOf(slot), core.eventRes(i));
      core.release(slot);
    }
  }
  return out;
}

/** The read end of a FIFO that never gets data: a request on it waits until cancelled. */
function neverReadablePipe(t: { after(fn: () => void): void }): number {
  const fifo = path.join(os.tmpdir(), `uring-core-fifo-${process.pid}-${Math.random().toString(36).slice(2)}`);
  assert.equal(spawnSync('mkfifo', [fifo]).status, 0, 'mkfifo');
  // Opened read-write, a FIFO neither blocks open nor ever has data.
  const fd = fs.openSync(fifo, fs.constants.O_RDWR | fs.constants.O_NONBLOCK);
  t.after(() => {
    fs.closeSync(fd);
    fs.rmSync(fifo, { force: true });
  });
  return fd;
}

test('uring: the probe says why when io_uring cannot be used, and succeeds here', () => {
  assert.equal(typeof probe.errno, 'number');
  if (probe.errno === 0) {
    assert.ok(probe.features > 0, 'IORING_FEAT_* bits');
  } else {
    assert.equal(typeof probe.syscall, 'string');
  }
});

test('uring: read, write, readv, writev, fsync, fdatasync, fallocate and a NOP in one batch, one io_uring_enter', { skip }, (t) => {
  const { fd } = tempFile(t, Buffer.alloc(16384, 0x11));
  const core = newCore(t, 16);
  const rd = Buffer.alloc(4096);
  const w = Buffer.alloc(4096, 0x22);
  const rv = [Buffer.alloc(1000), Buffer.alloc(3096)];
  const wv = [Buffer.alloc(2048, 0x33), Buffer.alloc(2048, 0x44)];
  const rows: [string, number, number, unknown, number, number][] = [
    ['read', Opcode.PREAD, 0, rd, 0, 0],
    ['write', Opcode.PWRITE, 4096, w, 0, 0],
    ['readv', Opcode.PREADV, 0, rv, 0, 0],
    ['writev', Opcode.PWRITEV, 8192, wv, 0, 0],
    ['fsync', Opcode.FSYNC, 0, undefined, 0, 0],
    ['fdatasync', Opcode.FDSYNC, 0, undefined, 0, 0],
    ['fallocate', URING_FALLOCATE, 0, undefined, 0, 1 << 20],
    ['nop', URING_NOP, 0, undefined, 0, 0],
  ];
  rows.forEach(([name, op, off, buf, flags, aux], i) => core.stage(i, name, staged(op, fd, off, buf, flags, aux)));
  assert.equal(core.submit(rows.length), rows.length);
  assert.equal(core.counters.submitCalls, 1);
  assert.equal(native.inFlight(core.handle), rows.length);
  const res = reapAll(core, rows.length);
  assert.deepEqual([...res.keys()].sort(), rows.map((r) => r[0]).sort());
  assert.equal(res.get('read'), 4096);
  assert.equal(res.get('write'), 4096);
  assert.equal(res.get('readv'), 4096);
  assert.equal(res.get('writev'), 4096);
  for (const k of ['fsync', 'fdatasync', 'fallocate', 'nop']) assert.equal(res.get(k), 0, k);
  assert.ok(rd.every((b) => b === 0x11));
  assert.equal(fs.fstatSync(fd).size, 1 << 20, 'fallocate extended the file');
  const back = Buffer.alloc(16384);
  fs.readSync(fd, back, 0, back.length, 0);
  assert.ok(back.subarray(4096, 8192).every((b) => b === 0x22));
  assert.ok(back.subarray(8192, 10240).every((b) => b === 0x33));
  assert.ok(back.subarray(10240, 12288).every((b) => b === 0x44));
  assert.equal(native.inFlight(core.handle), 0);
  assert.equal(core.available, core.capacity);
});

test('uring: kernel errors come back as negative results, per request', { skip }, (t) => {
  const { fd } = tempFile(t, Buffer.alloc(4096));
  const core = newCore(t);
  const ro = fs.openSync(fs.readlinkSync(`/proc/self/fd/${fd}`), 'r');
  t.after(() => fs.closeSync(ro));
  core.stage(0, 'ebadf-write', staged(Opcode.PWRITE, ro, 0, Buffer.alloc(512)));
  core.stage(1, 'good', staged(Opcode.PREAD, fd, 0, Buffer.alloc(512)));
  core.stage(2, 'bad-rwf', staged(Opcode.PREAD, fd, 0, Buffer.alloc(512), 0x40000000, 0));
  assert.equal(core.submit(3), 3);
  const res = reapAll(core, 3);
  assert.equal(res.get('ebadf-write'), -os.constants.errno.EBADF);
  assert.equal(res.get('good'), 512);
  assert.equal(res.get('bad-rwf'), -os.constants.errno.EOPNOTSUPP);
});

test('uring: a bad row is refused before the kernel sees the batch, naming the row; its slots are free again', { skip }, (t) => {
  const { fd } = tempFile(t, Buffer.alloc(4096));
  const core = newCore(t);
  core.stage(0, 'a', staged(Opcode.PREAD, fd, 0, Buffer.alloc(512)));
  core.stage(1, 'b', staged(Opcode.PREAD, fd, 0, 'not a buffer'));
  assert.throws(() => core.submit(2), (err: Error & { row?: number }) => err instanceof TypeError && err.row === 1);
  assert.equal(core.available, core.capacity);
  assert.equal(native.inFlight(core.handle), 0);
  core.stage(0, 'c', staged(URING_FALLOCATE, fd, 0, undefined, 0, 0)); // length 0
  assert.throws(() => core.submit(1), RangeError);
  // The same slot twice in one batch (only a forged row can do that).
  core.stage(0, 'd', staged(URING_NOP, fd, 0, undefined));
  core.stage(1, 'e', staged(URING_NOP, fd, 0, undefined));
  core.cmd[CMD.STRIDE + CMD.SLOT] = core.cmd[CMD.SLOT]!;
  assert.throws(() => core.submit(2), /already in flight/);
  // Nothing stayed marked as in flight: the slots work again.
  core.stage(0, 'f', staged(Opcode.PREAD, fd, 0, Buffer.alloc(512)));
  assert.equal(core.submit(1), 1);
  assert.equal(reapAll(core, 1).get('f'), 512);
});

test('uring: handles of the two kernels are not interchangeable', { skip }, (t) => {
  const core = newCore(t);
  assert.throws(() => native.submit(core.handle, 0, []), TypeError);
  assert.throws(() => native.reap(core.handle, 0, 1, 0), TypeError);
  const aio = new ContextCore(4, false, () => {});
  t.after(() => aio.destroy());
  assert.throws(() => native.uringSubmit(aio.handle, 0, []), TypeError);
  assert.throws(() => native.uringCancel(aio.handle, 0), TypeError);
});

test('uring: cancel asks the kernel (IORING_OP_ASYNC_CANCEL); the request completes with -ECANCELED', { skip }, (t) => {
  const fd = neverReadablePipe(t);
  const core = newCore(t);
  const slot = core.stage(0, 'poll', staged(Opcode.POLL, fd, 0, undefined, 0, 1 /* POLLIN */));
  assert.equal(core.submit(1), 1);
  const started = Date.now();
  assert.equal(core.reap(1, 1, 30), 0, 'the poll does not complete by itself');
  assert.ok(Date.now() - started >= 25, 'the timed wait waited');
  assert.equal(core.cancel(slot), 0);
  assert.equal(reapAll(core, 1).get('poll'), -ECANCELED);
  assert.equal(core.cancel(slot), os.constants.errno.ENOENT, 'nothing left to cancel');
});

test('uring: CQEs that overflow the completion ring are kept by the kernel and reaped later', { skip }, (t) => {
  const fd = neverReadablePipe(t);
  const core = newCore(t, 1); // 1 SQ entry, 2 CQ entries
  const slot = core.stage(0, 'poll', staged(Opcode.POLL, fd, 0, undefined, 0, 1));
  assert.equal(core.submit(1), 1);
  // Each cancel posts a CQE of its own: eight of them overflow two entries.
  for (let i = 0; i < 8; i++) assert.equal(core.cancel(slot), 0);
  assert.equal(reapAll(core, 1).get('poll'), -ECANCELED);
  // The backlog is flushed and skipped: the next request's CQE is found.
  for (let round = 0; round < 4; round++) {
    core.stage(0, `nop${round}`, staged(URING_NOP, fd, 0, undefined));
    assert.equal(core.submit(1), 1);
    assert.equal(reapAll(core, 1).get(`nop${round}`), 0);
  }
  assert.equal(native.inFlight(core.handle), 0);
});

/** The process's open fds whose /proc link matches `kind` (e.g. 'eventfd', 'io_uring'). */
function openAnonFds(kind: string): number {
  let n = 0;
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    try {
      if (fs.readlinkSync(`/proc/self/fd/${fd}`) === `anon_inode:[${kind}]`) n++;
    } catch {
      // the directory's own fd, closed by now
    }
  }
  return n;
}

test('uring: the event loop watches the ring fd itself (no eventfd), woken by CQEs and by overflowed ones, and quiet once they are reaped', { skip }, async (t) => {
  const eventfds = openAnonFds('eventfd');
  const rings = openAnonFds('io_uring');
  let notified = 0;
  let wake: () => void = () => {};
  const core: ContextCore = new ContextCore(1, false, () => {
    notified++;
    wake();
  }, 'uring');
  t.after(() => core.destroy());
  assert.equal(openAnonFds('io_uring'), rings + 1, 'a ring fd');
  assert.equal(openAnonFds('eventfd'), eventfds, 'no eventfd for an io_uring context');
  const fd = neverReadablePipe(t);
  const slot = core.stage(0, 'poll', staged(Opcode.POLL, fd, 0, undefined, 0, 1));
  assert.equal(core.submit(1), 1);
  core.arm(true);
  // Eight cancels post nine CQEs into two entries: most wait in the kernel.
  for (let i = 0; i < 8; i++) assert.equal(core.cancel(slot), 0);
  await new Promise<void>((resolve) => { wake = resolve; });
  assert.equal(reapAll(core, 1).get('poll'), -ECANCELED);
  core.stage(0, 'nop', staged(URING_NOP, fd, 0, undefined));
  assert.equal(core.submit(1), 1);
  assert.equal(reapAll(core, 1).get('nop'), 0, 'the backlog was flushed behind the wake-up');
  // Level-triggered: a ring left holding CQEs would call notify on every
  // turn of the loop. Drained, it stays quiet.
  wake = () => {};
  const before = notified;
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.ok(notified - before <= 1, `notify called ${notified - before} times on a drained ring`);
  core.arm(false);
});

test('uring: destroy with a request in flight cancels it, waits for it and returns', { skip }, (t) => {
  const fd = neverReadablePipe(t);
  const core = new ContextCore(4, false, () => {}, 'uring');
  core.stage(0, 'poll', staged(Opcode.POLL, fd, 0, undefined, 0, 1));
  assert.equal(core.submit(1), 1);
  const started = Date.now();
  core.destroy();
  assert.ok(Date.now() - started < 2000);
  assert.throws(() => native.uringSubmit(core.handle, 0, []), (e: unknown) => e instanceof AioError && e.code === 'EINVAL');
  assert.equal(native.inFlight(core.handle), 0);
});

/**
 * Code (a CommonJS script, as eval'd workers take) that leaves requests in
 * three rings that only a cancel ends, then runs `then`.
 */
function inFlightScript(fifo: string, then: string): string {
  const core = JSON.stringify(new URL('../src/core/context-core.js', import.meta.url).href);
  return `(async () => {
    const fs = require('node:fs');
    const { ContextCore } = await import(${core});
    const fd = fs.openSync(${JSON.stringify(fifo)}, fs.constants.O_RDWR | fs.constants.O_NONBLOCK);
    globalThis.cores = [];
    for (let i = 0; i < 3; i++) {
      const c = new ContextCore(4, false, () => {}, 'uring');
      c.stage(0, 'poll', { opcode: 5, fd, position: 0, buf: undefined, kernelFlags: 0, resfd: -1, reqprio: -1, aux: 1, fixedFile: -1 });
      c.stage(1, 'read', { opcode: 0, fd, position: 0, buf: Buffer.alloc(16), kernelFlags: 0, resfd: -1, reqprio: -1, aux: 0, fixedFile: -1 });
      if (c.submit(2) !== 2) throw new Error('submit');
      c.arm(true);
      globalThis.cores.push(c);
    }
    ${then}
  })().catch((e) => { console.error(e); process.exit(3); });`;
}

const exitCases: [string, (fifo: string) => string, number][] = [
  ['process.exit()', () => 'process.exit(0);', 0],
  ['an uncaught exception', () => "setImmediate(() => { throw new Error('deliberate'); });", 1],
  ['worker termination', (fifo) => `
    const { Worker } = require('node:worker_threads');
    const w = new Worker(${JSON.stringify(inFlightScript(fifo, "require('node:worker_threads').parentPort.postMessage('ready');"))}, { eval: true });
    w.on('message', async () => {
      await w.terminate();
      // The worker's rings were torn down with it (drained, unmapped, closed), not leaked.
      const rings = fs.readdirSync('/proc/self/fd').filter((f) => {
        try { return fs.readlinkSync('/proc/self/fd/' + f).includes('io_uring'); } catch { return false; }
      }).length;
      console.log('terminated, rings left: ' + (rings - globalThis.cores.length));
      process.exit(0);
    });`, 0],
];

for (const [name, then, code] of exitCases) {
  test(`uring: ${name} with requests in the kernel tears the rings down without a hang`, { skip }, (t) => {
    const fifo = path.join(os.tmpdir(), `uring-exit-${process.pid}-${Math.random().toString(36).slice(2)}`);
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0, 'mkfifo');
    t.after(() => fs.rmSync(fifo, { force: true }));
    const started = Date.now();
    const r = spawnSync(process.execPath, ['-e', inFlightScript(fifo, then(fifo))], { encoding: 'utf8', timeout: 20_000 });
    const out = `stdout: ${r.stdout}\nstderr: ${r.stderr}`;
    assert.equal(r.error, undefined, `timed out (a hang) after ${Date.now() - started} ms\n${out}`);
    assert.equal(r.signal, null, out);
    assert.equal(r.status, code, out);
    if (name === 'worker termination') assert.match(r.stdout, /terminated, rings left: 0\b/, out);
    if (code === 1) assert.match(r.stderr, /deliberate/, out);
    assert.doesNotMatch(r.stderr, /Segmentation|FATAL|Assertion/, out);
  });
}

test('uring files: only a row that names a table entry in use goes fixed; any other index is a RangeError; raw aio rows ignore it', { skip }, (t) => {
  const { fd } = tempFile(t, Buffer.alloc(8192, 0x61));
  const core = newCore(t, 4);
  const buf = Buffer.alloc(4096);
  const row = (fixedFile: number): StagedRequest => ({ ...staged(Opcode.PREAD, fd, 0, buf), fixedFile });
  const refused = (fixedFile: number, why: string): void => {
    core.stage(0, 'bad', row(fixedFile));
    assert.throws(() => core.submit(1), RangeError, why);
    assert.equal(core.available, core.capacity, `${why}: the slot is free again`);
  };
  refused(0, 'no table yet');
  // The fd is registered, but a row without the index goes as before.
  const index = core.registerFile(fd);
  core.stage(0, 'plain', row(-1));
  assert.equal(core.submit(1), 1);
  assert.equal(reapAll(core, 1).get('plain'), 4096);
  assert.equal(core.fixedFileRequests, 0, 'the fd number alone never selects the entry');
  core.stage(0, 'fixed', row(index));
  assert.equal(core.submit(1), 1);
  assert.equal(reapAll(core, 1).get('fixed'), 4096);
  assert.equal(core.fixedFileRequests, 1);
  for (const bad of [index + 1, 1023, 1024, -2, 0.5, NaN, 2 ** 40]) refused(bad, `index ${bad}`);
  core.unregisterFile(index);
  refused(index, 'an emptied entry');
  assert.equal(core.fixedFileRequests, 1);
  // Linux AIO has no table: the field is ignored.
  const aio = new ContextCore(4, false, () => {}, 'aio');
  t.after(() => aio.destroy());
  aio.stage(0, 'aio', row(5));
  assert.equal(aio.submit(1), 1);
  assert.equal(aio.reap(1, 4, 2000), 1);
  assert.equal(aio.eventRes(0), 4096);
});

test('uring files: registering a huge fd that is not open is EBADF, without sizing anything by it', { skip }, (t) => {
  const core = newCore(t, 4);
  const before = process.memoryUsage().rss;
  for (const fd of [2 ** 31 - 1, 2 ** 30]) {
    assert.throws(() => core.registerFile(fd), (err: unknown) => err instanceof AioError && err.code === 'EBADF', `fd ${fd}`);
  }
  assert.ok(process.memoryUsage().rss - before < 64 << 20, 'no memory sized by the fd number');
});

interface TeardownOutcome {
  /** What native destroy said: whether the kernel is done with every buffer. */
  drained: boolean;
  /** Requests the kernel took READ_FIXED. */
  fixed: number;
  /** Whether /dev/null took the ring fd number. */
  swapped: boolean;
  /** Whether the read's ArrayBuffer survived destroy() and forced collections. */
  kept: boolean;
}

/**
 * In a child (node --expose-gc): a read on a FIFO that never gets data, into
 * a buffer only the core references (registered with the ring first when
 * `register`), then destroy() and forced collections. With `swap`, the ring
 * fd is swapped for /dev/null behind the ring's back, so every
 * io_uring_enter of the teardown fails (EOPNOTSUPP) with the read still in
 * the kernel: the teardown cannot wait for it.
 */
function teardownWithReadInKernel(t: { after(fn: () => void): void }, register: boolean, swap: boolean): TeardownOutcome {
  const fifo = path.join(os.tmpdir(), `uring-core-undrained-${process.pid}-${Math.random().toString(36).slice(2)}`);
  assert.equal(spawnSync('mkfifo', [fifo]).status, 0, 'mkfifo');
  t.after(() => fs.rmSync(fifo, { force: true }));
  const dist = new URL('../src/', import.meta.url).href;
  const script = `
    import fs from 'node:fs';
    import { ContextCore } from '${dist}core/context-core.js';
    import { native } from '${dist}core/native.js';
    import '${dist}index.js';
    const fd = fs.openSync(${JSON.stringify(fifo)}, fs.constants.O_RDWR | fs.constants.O_NONBLOCK);
    const core = new ContextCore(4, false, () => {}, 'uring');
    let ref;
    (() => {
      const buf = new Uint8Array(4096);
      ref = new WeakRef(buf.buffer);
      if (${register}) core.registerBuffers([buf]);
      core.stage(0, 'r', { opcode: ${Opcode.PREAD}, fd, position: 0, buf, kernelFlags: 0, resfd: -1, reqprio: -1, aux: 0, fixedFile: -1 });
      core.submit(1);
    })();
    const fixed = core.fixedRequests;
    let swapped = false;
    if (${swap}) {
      const ring = fs.readdirSync('/proc/self/fd').map(Number).find((n) => {
        try { return fs.readlinkSync('/proc/self/fd/' + n) === 'anon_inode:[io_uring]'; } catch { return false; }
      });
      fs.closeSync(ring);
      swapped = fs.openSync('/dev/null', 'r') === ring;
    }
    core.destroy();
    const drained = native.destroy(core.handle); // the same answer again, for the parent
    for (let i = 0; i < 5; i++) globalThis.gc();
    await new Promise((resolve) => setTimeout(resolve, 20));
    for (let i = 0; i < 5; i++) globalThis.gc();
    console.log(JSON.stringify({ drained, fixed, swapped, kept: ref.deref() !== undefined }));
    process.exit(0);
  `;
  const child = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20000 });
  assert.equal(child.status, 0, child.stderr);
  const out = JSON.parse(child.stdout.trim().split('\n').pop()!) as TeardownOutcome;
  assert.equal(out.fixed, register ? 1 : 0, register ? 'the read went READ_FIXED' : 'the read went unregistered');
  assert.equal(out.swapped, swap, '/dev/null took the ring fd number (the test needs it)');
  return out;
}

test('uring fixed: a ring that refuses the teardown wait with a READ_FIXED in flight keeps its registered buffer for good', { skip }, (t) => {
  const out = teardownWithReadInKernel(t, true, true);
  assert.equal(out.drained, false, 'destroy() says the kernel may still use the buffers');
  assert.equal(out.kept, true, 'the registered ArrayBuffer is not handed back while the read may still write into it');
});

test('uring: a ring that refuses the teardown wait with an ordinary read in flight keeps its buffer pinned for good', { skip }, (t) => {
  const out = teardownWithReadInKernel(t, false, true);
  assert.equal(out.drained, false, 'destroy() says the kernel may still use the buffers');
  assert.equal(out.kept, true, 'the read\'s ArrayBuffer is not handed back while the read may still write into it');
});

test('uring: a ring whose teardown waited for its read unpins the buffer', { skip }, (t) => {
  const out = teardownWithReadInKernel(t, false, false);
  assert.equal(out.drained, true, 'the teardown cancelled the read and waited for it');
  assert.equal(out.kept, false, 'nothing stays pinned once the kernel is done');
});
