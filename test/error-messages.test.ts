/**
 * Errors that say the right thing:
 * the access mode named for EBADF, what a path is when it is not a file, a
 * remedy for ENOENT that does not truncate, AioError from close() on a
 * descriptor closed behind the library's back, `path` and Node's message
 * shape, a closed queue refused at open(), and errno 95 named EOPNOTSUPP with
 * a text that fits a file, and the commands' one line for errno 95 saying what
 * to do.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { open, allocAligned, errnoName, AioError, IoContext, IoQueue, Iocb } from '../src/index.js';
import { diskDir, tempPath } from './helpers/disk.js';
import { describeError, errorText } from '../src/util/error-text.js';

const BLOCK = 4096;

function aioError(code: string, check: (err: AioError) => void): (err: unknown) => boolean {
  return (err) => {
    assert.ok(err instanceof AioError, `an AioError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    check(err);
    return true;
  };
}

function existing(t: TestContext, name: string): string | undefined {
  const { skip } = diskDir();
  if (skip) {
    t.skip(skip);
    return undefined;
  }
  const p = tempPath(name);
  fs.writeFileSync(p, Buffer.alloc(4 * BLOCK, 0x41));
  t.after(() => fs.rmSync(p, { force: true }));
  return p;
}

function openFds(): number {
  return fs.readdirSync('/proc/self/fd').length;
}

for (const engine of ['aio', 'threadpool'] as const) {
  test(`${engine}: a read of a write-only file and a write of a read-only one name the access mode (EBADF)`, async (t) => {
    const p = existing(t, 'access');
    if (!p) return;
    const wo = await open(p, fs.constants.O_WRONLY, { engine });
    const ro = await open(p, 'r', { engine });
    t.after(async () => {
      await wo.close();
      await ro.close();
    });
    const buf = allocAligned(BLOCK);
    for (const attempt of [() => wo.read(buf, 0), () => wo.readv([buf], 0), () => wo.readAt(1, 10)]) {
      await assert.rejects(attempt(), aioError('EBADF', (err) => {
        assert.match(err.hint ?? '', /opened write-only \(flags 0o1\): open it with 'r\+' to read/);
        assert.doesNotMatch(err.hint ?? '', /eventfd/);
        assert.equal(err.path, p);
      }));
    }
    for (const attempt of [() => ro.write(buf, 0), () => ro.writev([buf], 0)]) {
      await assert.rejects(attempt(), aioError('EBADF', (err) => {
        assert.match(err.hint ?? '', /opened read-only \('r'\): open it with 'r\+' to write/);
        assert.equal(err.path, p);
      }));
    }
    assert.equal(wo.inFlight + ro.inFlight, 0);
    assert.equal(await ro.read(buf, 0), BLOCK, 'what the mode allows still works');
  });
}

test('the low level names the access mode for EBADF, not an eventfd it was never given', (t) => {
  const p = existing(t, 'access-lowlevel');
  if (!p) return;
  const fd = fs.openSync(p, fs.constants.O_WRONLY);
  const ctx = IoContext.setup(4);
  t.after(() => {
    ctx.destroy();
    fs.closeSync(fd);
  });
  assert.throws(() => ctx.submit([new Iocb().prepPread(fd, Buffer.alloc(BLOCK), 0)]), aioError('EBADF', (err) => {
    assert.match(err.hint ?? '', new RegExp(`fd ${fd} is open write-only`));
    assert.doesNotMatch(err.hint ?? '', /setEventfd/);
  }));
});

test('opening a directory says EISDIR; a FIFO or a character device is "not a regular file or block device"', async (t) => {
  const { dir, skip } = diskDir();
  if (skip) return t.skip(skip);
  const sub = fs.mkdtempSync(path.join(dir!, 'a-folder-'));
  const fifo = path.join(sub, 'fifo');
  execFileSync('mkfifo', [fifo]);
  t.after(() => fs.rmSync(sub, { recursive: true, force: true }));
  const before = openFds();
  for (const opts of [{}, { direct: false }]) {
    await assert.rejects(open(sub, 'r', opts), aioError('EISDIR', (err) => {
      assert.equal(err.path, sub);
      assert.doesNotMatch(err.hint ?? '', /O_DIRECT/);
    }));
  }
  for (const [p, kind] of [[fifo, 'a FIFO'], ['/dev/null', 'a character device']] as const) {
    await assert.rejects(open(p, 'r'), aioError('EINVAL', (err) => {
      assert.ok(err.hint?.includes(`${p} is ${kind}, not a regular file or block device`), err.hint);
      assert.doesNotMatch(err.hint ?? '', /file system .* refuses O_DIRECT/);
      assert.equal(err.path, p);
    }));
  }
  assert.ok(openFds() <= before, 'no descriptor left behind');
});

test('ENOENT recommends a flag that creates without truncating, and the advice works', async (t) => {
  const { skip } = diskDir();
  if (skip) return t.skip(skip);
  const p = tempPath('missing');
  t.after(() => fs.rmSync(p, { force: true }));
  let hint = '';
  await assert.rejects(open(p, 'r+'), aioError('ENOENT', (err) => {
    hint = err.hint ?? '';
    assert.match(hint, /pass flags 'wx\+' to create it/);
    assert.doesNotMatch(hint, /pass flags 'w\+'/);
  }));
  const created = await open(p, 'wx+');
  await created.close();
  // Followed on a file that exists, the advice fails instead of wiping it.
  fs.writeFileSync(p, 'precious');
  await assert.rejects(open(p, 'wx+'), { code: 'EEXIST' });
  assert.equal(fs.readFileSync(p, 'utf8'), 'precious');
  await assert.rejects(open(path.join(p + '-no-folder', 'f'), 'w+'), aioError('ENOENT', (err) => {
    assert.match(err.hint ?? '', /a folder on the way to .* does not exist/);
  }));
});

test('close() after the descriptor was closed behind the library\'s back rejects with AioError EBADF', async (t) => {
  const p = existing(t, 'closed-behind');
  if (!p) return;
  const file = await open(p, 'r');
  fs.closeSync(file.fd);
  await assert.rejects(file.close(), aioError('EBADF', (err) => {
    assert.equal(err.syscall, 'close');
    assert.equal(err.path, p);
    assert.match(err.hint ?? '', /closed behind the library's back/);
  }));
});

test('errors about a path carry err.path, in Node\'s message shape, with the hint in hint', async (t) => {
  const { skip } = diskDir();
  if (skip) return t.skip(skip);
  const p = tempPath('no-such');
  const err = await open(p, 'r').catch((e: unknown) => e);
  assert.ok(err instanceof AioError);
  assert.equal(err.path, p);
  assert.equal(err.message, `ENOENT: no such file or directory, open '${p}'`);
  assert.ok(err.hint, 'the hint is kept');
  // The same shape as Node's own error for the same call.
  const node = await fs.promises.open(p, 'r').catch((e: NodeJS.ErrnoException) => e);
  assert.equal(err.message, (node as Error).message);
  // A file's own refusals name it too.
  const q = existing(t, 'path-errors');
  if (!q) return;
  const file = await open(q, 'r');
  await assert.rejects(file.read(allocAligned(BLOCK).subarray(1, 1 + BLOCK), 0), { code: 'EINVAL', path: q });
  await file.close();
  await assert.rejects(file.read(allocAligned(BLOCK), 0), { code: 'EBADF', path: q, message: `EBADF: bad file descriptor, read '${q}'` });
});

test('open() refuses an IoQueue that is already closed', async (t) => {
  const p = existing(t, 'closed-queue');
  if (!p) return;
  const queue = new IoQueue({ depth: 4 });
  await queue.close();
  assert.equal(queue.closed, true);
  const before = openFds();
  await assert.rejects(open(p, 'r', { queue }), aioError('EBADF', (err) => {
    assert.equal(err.syscall, 'open');
    assert.match(err.hint ?? '', /queue is closed/);
  }));
  assert.ok(openFds() <= before, 'nothing was opened');
});

test('errno 95 is EOPNOTSUPP, as Linux names it, with a text about operations, not sockets', async (t) => {
  assert.equal(errnoName(95), 'EOPNOTSUPP');
  assert.equal(errnoName(-95), 'EOPNOTSUPP');
  const e = new AioError(95, 'io_submit');
  assert.equal(e.code, 'EOPNOTSUPP');
  assert.equal(e.errno, -95);
  assert.equal(e.message, 'EOPNOTSUPP: operation not supported, io_submit');
  const p = existing(t, 'eopnotsupp');
  if (!p) return;
  for (const engine of ['aio', 'threadpool'] as const) {
    const file = await open(p, 'r', { engine });
    // An RWF flag no kernel knows (aio), or any flag (the thread pool cannot pass them).
    await assert.rejects(file.read(allocAligned(BLOCK), 0, { flags: 0x40000000 }), aioError('EOPNOTSUPP', (err) => {
      assert.doesNotMatch(err.message, /socket/);
    }));
    await file.close();
  }
});

test('the commands\' text for errno 95 says EOPNOTSUPP, not sockets, and what to do, or the library\'s hint', async (t) => {
  const p = existing(t, 'eopnotsupp-text');
  if (!p) return;
  const advice = /^EOPNOTSUPP: operation not supported \(the kernel, file system or device does not offer this operation or flag here; drop the flag or use another file system, and see what a path allows with linux-aio info PATH\)$/;
  // Node's own error for the same number: code ENOTSUP, a text about sockets (ext4 cannot clone).
  let nodeErr: unknown;
  try {
    fs.copyFileSync(p, `${p}.clone`, fs.constants.COPYFILE_FICLONE_FORCE);
  } catch (err) {
    nodeErr = err;
  }
  t.after(() => fs.rmSync(`${p}.clone`, { force: true }));
  if (nodeErr === undefined) {
    t.diagnostic('this file system clones files; the Node-error half is not tried');
  } else {
    assert.equal((nodeErr as NodeJS.ErrnoException).errno, -95);
    assert.match(errorText(nodeErr), advice);
    assert.match(describeError(nodeErr), advice);
  }
  // The kernel refuses an RWF flag it does not know: no hint, so the advice.
  const aio = await open(p, 'r', { engine: 'aio' });
  const refused = await aio.read(allocAligned(BLOCK), 0, { flags: 0x40000000 }).then(() => undefined, (err: unknown) => err);
  await aio.close();
  assert.ok(refused instanceof AioError && refused.hint === undefined, String(refused));
  assert.match(errorText(refused), advice);
  // With the library's hint, the hint says what to do, once.
  const pool = await open(p, 'r', { engine: 'threadpool' });
  const hinted = await pool.read(allocAligned(BLOCK), 0, { flags: 1 }).then(() => undefined, (err: unknown) => err);
  await pool.close();
  assert.equal(errorText(hinted),
    'EOPNOTSUPP: operation not supported (per-request RWF flags need a kernel engine (aio or uring); the thread pool cannot pass them)');
  assert.equal(describeError(hinted), 'EOPNOTSUPP: operation not supported');
});
