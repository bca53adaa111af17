/**
 * Errors of open() and AioFile: misalignment is refused before the
 * kernel sees the request, with a hint naming what was required and what was
 * given; a file system that refuses O_DIRECT makes open fail with a hint to
 * pass `direct: false`; kernel errors surface as AioError with Node's
 * conventions; bad arguments are TypeError/RangeError.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { open, allocAligned, AioError, IoQueue, type AioFile } from '../src/index.js';
import { diskDir, tempPath } from './helpers/disk.js';
import { KERNEL_ENGINE, opSyscall } from './helpers/engine.js';

const BLOCK = 4096;
const INDEX = fileURLToPath(new URL('../src/index.js', import.meta.url));

async function fixture(t: TestContext, queue?: IoQueue): Promise<{ file: AioFile; path: string } | undefined> {
  const { skip } = diskDir();
  if (skip) {
    t.skip(skip);
    return undefined;
  }
  const path = tempPath('errors');
  fs.writeFileSync(path, Buffer.alloc(16 * BLOCK, 0x61));
  const file = await open(path, 'r+', queue ? { queue } : {});
  t.after(async () => {
    await file.close();
    fs.rmSync(path, { force: true });
  });
  return { file, path };
}

function aioError(code: string, syscall: string | RegExp, check?: (err: AioError) => void): (err: unknown) => boolean {
  return (err: unknown) => {
    assert.ok(err instanceof AioError, `an AioError, got ${String(err)}`);
    assert.ok(err instanceof Error);
    assert.equal(err.name, 'AioError');
    assert.equal(err.code, code);
    assert.equal(typeof err.errno, 'number');
    assert.ok(err.errno < 0, 'errno is negative, as in Node');
    if (typeof syscall === 'string') assert.equal(err.syscall, syscall);
    else assert.match(err.syscall, syscall);
    assert.ok(err.message.includes(code), 'the message names the code');
    check?.(err);
    return true;
  };
}

test('a misaligned buffer address is refused with EINVAL and a hint giving both alignments', async (t) => {
  const queue = new IoQueue({ depth: 8 });
  t.after(() => queue.close());
  const f = await fixture(t, queue);
  if (!f) return;
  const { file } = f;
  const { memory } = file.alignment;
  assert.ok(memory > 1, `O_DIRECT has a memory alignment (${memory})`);
  const skewed = allocAligned(BLOCK + memory, memory).subarray(3, 3 + BLOCK);
  for (const [op, p] of [
    ['read', file.read(skewed, 0)],
    ['write', file.write(skewed, 0)],
    ['readv', file.readv([allocAligned(BLOCK, memory), skewed], 0)],
    ['writev', file.writev([skewed], 0)],
  ] as const) {
    await assert.rejects(p, aioError('EINVAL', op, (err) => {
      assert.equal(err.errno, -22);
      const hint = err.hint ?? '';
      assert.match(hint, new RegExp(`aligned to ${memory} bytes`), `${op}: the hint gives the required alignment`);
      assert.match(hint, new RegExp(`address is 3 bytes past a multiple of ${memory}`), `${op}: the hint gives the skew`);
      assert.match(hint, /allocAligned/, `${op}: the hint names the remedy`);
    }));
  }
  const s = queue.stats();
  assert.equal(s.submitted + s.submitCalls + s.queued, 0, 'the kernel never saw them');
  assert.equal(file.inFlight, 0);
});

test('a length that is not a multiple of the offset alignment is refused with the numbers in the hint', async (t) => {
  const f = await fixture(t);
  if (!f) return;
  const { file } = f;
  const { memory, offset } = file.alignment;
  const length = BLOCK + 100;
  await assert.rejects(file.read(allocAligned(length, memory), 0), aioError('EINVAL', 'read', (err) => {
    assert.match(err.hint ?? '', new RegExp(`the length ${length} is not a multiple of ${offset}`));
    assert.match(err.hint ?? '', new RegExp(`multiples of ${offset}`));
  }));
  // Each piece of a vector must be a multiple too, not only the total.
  await assert.rejects(file.writev([allocAligned(offset / 2, memory), allocAligned(offset / 2, memory)], 0),
    aioError('EINVAL', 'writev', (err) => assert.match(err.hint ?? '', new RegExp(`the length ${offset / 2} is not a multiple of ${offset}`))));
  assert.equal(file.inFlight, 0);
});

test('a misaligned position is refused with the numbers in the hint', async (t) => {
  const f = await fixture(t);
  if (!f) return;
  const { file } = f;
  const { memory, offset } = file.alignment;
  const position = offset * 3 + 7;
  await assert.rejects(file.write(allocAligned(BLOCK, memory), position), aioError('EINVAL', 'write', (err) => {
    assert.match(err.hint ?? '', new RegExp(`the position ${position} is not a multiple of ${offset}`));
    assert.match(err.hint ?? '', /readAt\(\) takes any range/);
  }));
  await assert.rejects(file.readv([allocAligned(BLOCK, memory)], 100), aioError('EINVAL', 'readv', (err) => {
    assert.match(err.hint ?? '', new RegExp(`the position 100 is not a multiple of ${offset}`));
  }));
  // All three wrong at once: the hint lists all three.
  const all = allocAligned(BLOCK + memory, memory).subarray(1, 1 + 1000);
  await assert.rejects(file.read(all, 5), aioError('EINVAL', 'read', (err) => {
    const hint = err.hint ?? '';
    assert.match(hint, /address is 1 bytes past/);
    assert.match(hint, /the length 1000 is not/);
    assert.match(hint, /the position 5 is not/);
  }));
  assert.equal(file.inFlight, 0);
  assert.ok(fs.readFileSync(f.path).every((b) => b === 0x61), 'no refused write reached the file');
});

/** A file this kernel refuses to open with O_DIRECT (EINVAL), found by trying. */
function refusesDirect(): string | undefined {
  const candidates = ['/proc/version', '/sys/kernel/mm/transparent_hugepage/enabled', '/proc/self/status', '/proc/cpuinfo'];
  for (const p of candidates) {
    try {
      const fd = fs.openSync(p, fs.constants.O_RDONLY | fs.constants.O_DIRECT);
      fs.closeSync(fd);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EINVAL') return p;
    }
  }
  return undefined;
}

test('a file whose file system refuses O_DIRECT: open fails with EINVAL and the direct: false hint', async (t) => {
  const p = refusesDirect();
  if (!p) {
    t.skip('no file under /proc or /sys refuses O_DIRECT with EINVAL on this kernel');
    return;
  }
  t.diagnostic(`${p} refuses O_DIRECT here`);
  const fdsBefore = fs.readdirSync('/proc/self/fd').length;
  await assert.rejects(open(p), aioError('EINVAL', 'open', (err) => {
    assert.equal(err.errno, -22);
    assert.match(err.hint ?? '', /direct: false/, 'the hint says to pass direct: false');
    assert.ok((err.hint ?? '').includes(p), 'the hint names the path');
    assert.match(err.hint ?? '', /O_DIRECT/);
  }));
  assert.equal(fs.readdirSync('/proc/self/fd').length, fdsBefore, 'no fd left open');
  // The remedy works: buffered, through io_uring or the thread pool, never Linux AIO.
  const file = await open(p, 'r', { direct: false });
  t.after(() => file.close());
  assert.notEqual(file.engine, 'aio');
  const buf = Buffer.alloc(4096);
  const n = await file.read(buf, 0);
  assert.ok(n > 0, 'the buffered open reads');
  // (The first line: files under /proc and /sys may change between two reads.)
  assert.equal(buf.subarray(0, n).toString().split('\n')[0], fs.readFileSync(p, 'utf8').split('\n')[0]);
});

test('opening a missing file: AioError ENOENT from open, naming the path', async (t) => {
  const { dir, skip } = diskDir();
  const missing = `${dir ?? '/nonexistent'}/no-such-file-${process.pid}`;
  if (skip) t.diagnostic(`(on ${missing}: ${skip})`);
  await assert.rejects(open(missing), aioError('ENOENT', 'open', (err) => {
    assert.equal(err.errno, -2);
    assert.ok((err.hint ?? '').includes(missing), 'the hint names the path');
  }));
  await assert.rejects(open(missing, 'r+', { direct: false }), aioError('ENOENT', 'open'));
  await assert.rejects(open('/nonexistent-dir/x', 'w+'), aioError('ENOENT', 'open'));
  assert.equal(fs.existsSync(missing), false, 'nothing was created');
});

test('open refuses bad arguments with TypeError/RangeError', async (t) => {
  const { skip } = diskDir();
  if (skip) {
    t.skip(skip);
    return;
  }
  const p = tempPath('bad-open');
  fs.writeFileSync(p, '');
  t.after(() => fs.rmSync(p, { force: true }));
  const fdsBefore = fs.readdirSync('/proc/self/fd').length;
  await assert.rejects(open(42 as unknown as string), TypeError);
  await assert.rejects(open(''), TypeError);
  await assert.rejects(open(p, 'bogus'), TypeError);
  await assert.rejects(open(p, {} as unknown as string), TypeError);
  await assert.rejects(open(p, -1), RangeError);
  await assert.rejects(open(p, 1.5), RangeError);
  await assert.rejects(open(p, 'r', null as unknown as object), TypeError);
  await assert.rejects(open(p, 'r', 'direct' as unknown as object), TypeError);
  await assert.rejects(open(p, 'r', { engine: 'io_uring' as never }), TypeError);
  await assert.rejects(open(p, 'r+', { size: 1.5 }), RangeError);
  await assert.rejects(open(p, 'r+', { size: -4096 }), RangeError);
  await assert.rejects(open(p, 'r+', { mode: -1 }), RangeError);
  await assert.rejects(open(p, 'r+', { mode: '644' as unknown as number }), TypeError);
  // A queue that is not an IoQueue used to open, then throw on the first read
  // after counting it, so that close() waited for ever.
  await assert.rejects(open(p, 'r', { queue: {} as never }), TypeError);
  await assert.rejects(open(p, 'r', { queue: null as never }), TypeError);
  await assert.rejects(open(p, 'r', { direct: 'no' as never }), TypeError, 'a string is not silently direct: true');
  await assert.rejects(open(p, 'r', { direct: 0 as never }), TypeError);
  assert.equal(fs.readdirSync('/proc/self/fd').length, fdsBefore, 'no fd left open');
  assert.equal(fs.statSync(p).size, 0);
});

test('requests refuse bad arguments with TypeError/RangeError, before anything is queued', async (t) => {
  const queue = new IoQueue({ depth: 8 });
  t.after(() => queue.close());
  const f = await fixture(t, queue);
  if (!f) return;
  const { file } = f;
  const buf = allocAligned(BLOCK, file.alignment.memory);
  const cases: [string, () => Promise<unknown>, new (...a: never[]) => Error][] = [
    ['read(string)', () => file.read('abc' as unknown as Buffer, 0), TypeError],
    ['read(null)', () => file.read(null as unknown as Buffer, 0), TypeError],
    ['read(ArrayBuffer)', () => file.read(new ArrayBuffer(BLOCK) as unknown as Buffer, 0), TypeError],
    ['write(number)', () => file.write(7 as unknown as Buffer, 0), TypeError],
    ['read at -4096', () => file.read(buf, -BLOCK), RangeError],
    ['read at 1.5', () => file.read(buf, 1.5), RangeError],
    ['read at NaN', () => file.read(buf, NaN), RangeError],
    ['read at Infinity', () => file.read(buf, Infinity), RangeError],
    ['read at 2^53', () => file.read(buf, 2 ** 53), RangeError],
    ['read at "0"', () => file.read(buf, '0' as unknown as number), TypeError],
    ['read at 0n', () => file.read(buf, 0n as unknown as number), TypeError],
    ['write at -1', () => file.write(buf, -1), RangeError],
    ['readv(not an array)', () => file.readv(buf as unknown as Buffer[], 0), TypeError],
    ['readv([string])', () => file.readv(['x' as unknown as Buffer], 0), TypeError],
    ['writev(1025 buffers)', () => file.writev(new Array<Buffer>(1025).fill(buf), 0), RangeError],
    ['writev at -1', () => file.writev([buf], -1), RangeError],
    ['readAt(-1)', () => file.readAt(-1, 1), RangeError],
  ];
  for (const [name, call, ctor] of cases) {
    await assert.rejects(call(), (err: unknown) => {
      assert.ok(err instanceof ctor, `${name}: ${ctor.name}, got ${String(err)}`);
      return true;
    });
  }
  const s = queue.stats();
  assert.equal(s.submitted + s.submitCalls + s.queued, 0, 'nothing was queued');
  assert.equal(file.inFlight, 0);
  // And the file still works.
  assert.equal(await file.read(buf, 0), BLOCK);
});

test('bad request options fail that request alone, as TypeError/RangeError, and leave nothing counted', async (t) => {
  const queue = new IoQueue({ depth: 8 });
  t.after(() => queue.close());
  const f = await fixture(t, queue);
  if (!f) return;
  const { file } = f;
  const good = (block: number): Promise<number> => file.read(allocAligned(BLOCK, file.alignment.memory), block * BLOCK);
  const bad: [string, unknown, new (...a: never[]) => Error][] = [
    ['flags -1', { flags: -1 }, RangeError],
    ['flags 1.5', { flags: 1.5 }, RangeError],
    ['flags 2^40', { flags: 2 ** 40 }, RangeError],
    ['flags "x"', { flags: 'x' }, TypeError],
    ['flags null', { flags: null }, TypeError],
    ['signal "nope"', { signal: 'nope' }, TypeError],
    ['signal {}', { signal: {} }, TypeError],
    ['opts 5', 5, TypeError],
  ];
  for (const [name, opts, ctor] of bad) {
    // In the middle of a batch: the neighbours must not pay for it.
    const before = good(0);
    let p: Promise<number> | undefined;
    assert.doesNotThrow(() => {
      p = file.read(allocAligned(BLOCK, file.alignment.memory), BLOCK, opts as never);
    }, `${name}: rejects rather than throws`);
    const after = good(2);
    await assert.rejects(p!, (err: unknown) => {
      assert.ok(err instanceof ctor, `${name}: ${ctor.name}, got ${String(err)}`);
      return true;
    });
    assert.deepEqual(await Promise.all([before, after]), [BLOCK, BLOCK], `${name}: the neighbours succeed`);
    await assert.rejects(file.writev([allocAligned(BLOCK, file.alignment.memory)], 0, opts as never), ctor, `${name}: writev`);
    await assert.rejects(file.readAt(1, 2, opts as never), ctor, `${name}: readAt`);
  }
  assert.equal(file.inFlight, 0, 'no refused request is counted as in flight');
  assert.equal(queue.stats().queued, 0);
  // flags: 0 and undefined are no flags; null options are no options.
  assert.equal(await file.read(allocAligned(BLOCK, file.alignment.memory), 0, { flags: 0, signal: undefined }), BLOCK);
  assert.equal(await file.read(allocAligned(BLOCK, file.alignment.memory), 0, null as never), BLOCK);
  // close() would wait for ever on a leaked count.
  await Promise.race([
    file.close(),
    new Promise((_, reject) => setTimeout(() => reject(new Error('close() hangs: a refused request was counted')), 2000).unref()),
  ]);
});

test('a buffer detached while its request waits in the queue fails that request alone', async (t) => {
  const queue = new IoQueue({ depth: 8 });
  t.after(() => queue.close());
  const f = await fixture(t, queue);
  if (!f) return;
  const { file } = f;
  const bufs = Array.from({ length: 5 }, () => allocAligned(BLOCK, file.alignment.memory));
  const reads = bufs.map((b, i) => file.read(b, i * BLOCK));
  // Between the call and the flush at the end of the tick: the read of
  // bufs[3] now points at no memory.
  structuredClone(bufs[3]!.buffer, { transfer: [bufs[3]!.buffer as ArrayBuffer] });
  const results = await Promise.allSettled(reads);
  assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
  assert.ok((results[3] as PromiseRejectedResult).reason instanceof TypeError);
  assert.match(String((results[3] as PromiseRejectedResult).reason), /detached/);
  for (const i of [0, 1, 2, 4]) assert.ok(bufs[i]!.every((b) => b === 0x61), `read ${i} has its data`);
  assert.equal(file.inFlight, 0);
  assert.equal(queue.stats().submitted, 4);
});

/**
 * Whether this file system refuses a write at 2^52 with EFBIG (ext4's limit
 * is 16 TiB; XFS and btrfs allow files far larger), asked of node:fs on a
 * scratch file beside `path`.
 */
function refusesWriteAt2p52(path: string): boolean {
  const probe = `${path}.efbig-probe`;
  const fd = fs.openSync(probe, 'w');
  try {
    fs.writeSync(fd, Buffer.alloc(1), 0, 1, 2 ** 52);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EFBIG';
  } finally {
    fs.closeSync(fd);
    fs.rmSync(probe, { force: true });
  }
}

test('kernel errors from io_submit and from completions are AioErrors; the queue goes on', async (t) => {
  const queue = new IoQueue({ depth: 8 });
  t.after(() => queue.close());
  const f = await fixture(t, queue);
  if (!f) return;
  const { file } = f;
  if (!refusesWriteAt2p52(f.path)) {
    return t.skip(`this file system (statfs type 0x${fs.statfsSync(f.path).type.toString(16)}) takes a write at 2^52: there is no EFBIG to test`);
  }
  const buf = allocAligned(BLOCK, file.alignment.memory);
  // A flag the kernel does not know: io_submit refuses the request; io_uring
  // takes it and answers in its completion.
  const unknownFlag = KERNEL_ENGINE === 'uring' ? opSyscall('pread') : /^io_submit/;
  await assert.rejects(file.read(buf, 0, { flags: 0x40000000 }), aioError('EOPNOTSUPP', unknownFlag, (err) => {
    assert.equal(err.errno, -95);
  }));
  // Far beyond the largest file the file system allows: the completion says EFBIG.
  await assert.rejects(file.write(buf, 2 ** 52), aioError('EFBIG', opSyscall('pwrite'), (err) => {
    assert.equal(err.errno, -27);
  }));
  // Refusals in the middle of a batch do not take the others down.
  const batch = await Promise.allSettled([
    file.read(allocAligned(BLOCK, file.alignment.memory), 0),
    file.read(allocAligned(BLOCK, file.alignment.memory), BLOCK, { flags: 0x40000000 }),
    file.read(allocAligned(BLOCK, file.alignment.memory), 2 * BLOCK),
    file.write(allocAligned(BLOCK, file.alignment.memory), 2 ** 52),
    file.read(allocAligned(BLOCK, file.alignment.memory), 3 * BLOCK),
  ]);
  assert.deepEqual(batch.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled', 'rejected', 'fulfilled']);
  assert.deepEqual(batch.filter((r) => r.status === 'fulfilled').map((r) => (r as PromiseFulfilledResult<number>).value),
    [BLOCK, BLOCK, BLOCK]);
  assert.equal(file.inFlight, 0);
  assert.equal(queue.stats().inFlight, 0);
  assert.equal(queue.stats().queued, 0);
  assert.equal(fs.statSync(f.path).size, 16 * BLOCK, 'the refused writes did not grow the file');
});

test('a request refused in the middle of a batch fails at once; those behind it are not held back', async (t) => {
  const queue = new IoQueue({ depth: 8, reapInline: false });
  t.after(() => queue.close());
  const f = await fixture(t, queue);
  if (!f) return;
  const { file } = f;
  const read = (block: number, flags?: number): Promise<number> =>
    file.read(allocAligned(BLOCK, file.alignment.memory), block * BLOCK, flags ? { flags } : undefined);
  // io_submit takes the first request, stops at the bad one and reports only
  // the count: the queue must find out why at once, not after a completion.
  // io_uring takes the whole batch and fails the bad one in its completion.
  let completedAtRejection = -1;
  const first = read(0);
  const bad = read(1, 0x40000000).catch((err: unknown) => {
    completedAtRejection = queue.stats().completed;
    throw err;
  });
  const rest = [read(2), read(3), read(4)];
  const uring = KERNEL_ENGINE === 'uring';
  const badDone = assert.rejects(bad, aioError('EOPNOTSUPP', uring ? opSyscall('pread') : /^io_submit/));
  await new Promise<void>((resolve) => process.nextTick(resolve)); // after the flush
  await Promise.resolve();
  const s = queue.stats();
  assert.equal(s.queued, 0, 'nothing is left waiting');
  if (uring) {
    assert.equal(s.submitCalls, 1, 'one io_uring_enter for the batch');
    assert.equal(s.submitted, 5, 'the ring took the bad request with the good ones');
  } else {
    assert.equal(completedAtRejection, 0, 'the bad request was rejected before any completion was reaped');
    assert.equal(s.inFlight, 4, 'the four good requests are all in the kernel');
  }
  await badDone;
  assert.deepEqual(await Promise.all([first, ...rest]), [BLOCK, BLOCK, BLOCK, BLOCK]);
});

test('a request refused by io_submit with nothing else in flight does not keep the process alive', async (t) => {
  const { skip } = diskDir();
  if (skip) {
    t.skip(skip);
    return;
  }
  const p = tempPath('refused-exit');
  fs.writeFileSync(p, Buffer.alloc(2 * BLOCK));
  t.after(() => fs.rmSync(p, { force: true }));
  // Depth 1: the refused request is submitted alone, after the first completes.
  const script = `
    const { open, allocAligned, IoQueue } = await import(${JSON.stringify(INDEX)});
    const queue = new IoQueue({ depth: 1 });
    globalThis.keepQueue = queue; // still referenced, as the default queue always is
    const file = await open(${JSON.stringify(p)}, 'r', { queue });
    const a = file.read(allocAligned(4096), 0);
    const b = file.read(allocAligned(4096), 4096, { flags: 0x40000000 }).catch((e) => e.code);
    console.log(await a, await b);
    await file.close();
    // The queue is left open: with nothing in flight it must not hold the
    // event loop.
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let errOut = '';
  child.stdout.on('data', (d: Buffer) => (out += d));
  child.stderr.on('data', (d: Buffer) => (errOut += d));
  const started = Date.now();
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  const [code, signal] = await new Promise<[number | null, string | null]>((resolve) =>
    child.on('close', (c, s) => resolve([c, s])));
  clearTimeout(timer);
  assert.equal(signal, null, `the process exited by itself (it was killed after 5 s; stderr: ${errOut})`);
  t.diagnostic(`the child exited after ${Date.now() - started} ms`);
  assert.equal(code, 0, errOut);
  assert.equal(out.trim(), '4096 EOPNOTSUPP');
});

test('-0 passes as 0 everywhere (mode, position, flags); mode -0 used to abort the process in fs.open', async (t) => {
  const { skip } = diskDir();
  if (skip) {
    t.skip(skip);
    return;
  }
  const p = tempPath('negative-zero');
  fs.writeFileSync(p, Buffer.alloc(2 * BLOCK, 0x61));
  t.after(() => fs.rmSync(p, { force: true }));
  // In a child: a regression is a native assertion that kills the process.
  const script = `
    const { open, allocAligned } = await import(${JSON.stringify(INDEX)});
    const out = [];
    for (const options of [{ mode: -0 }, { mode: -0, direct: false }, { size: -0 }]) {
      const file = await open(${JSON.stringify(p)}, 'r+', options);
      const buf = allocAligned(4096);
      out.push(await file.read(buf, -0), await file.write(buf, -0), await file.readv([buf], -0),
        await file.read(buf, 0, { flags: -0 }), (await file.readAt(-0, 10)).length);
      await file.allocate(-0, 4096);
      await file.close();
    }
    console.log(out.join(','));
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let errOut = '';
  child.stdout.on('data', (d: Buffer) => (out += d));
  child.stderr.on('data', (d: Buffer) => (errOut += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  const [code, signal] = await new Promise<[number | null, string | null]>((resolve) =>
    child.on('close', (c, s) => resolve([c, s])));
  clearTimeout(timer);
  assert.equal(signal, null, `the child was not killed (stderr: ${errOut})`);
  assert.equal(code, 0, errOut);
  assert.equal(out.trim(), new Array(3).fill('4096,4096,4096,4096,10').join(','));
});
