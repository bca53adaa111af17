/**
 * io_setup beyond the system-wide limit: with /proc/sys/fs/aio-max-nr
 * lowered to just above the current aio-nr (as root), contexts are made
 * until IoContext.setup throws AioError EAGAIN, whose hint names the sysctl
 * and the current aio-nr; after destroying them setup works again. The
 * sysctl is restored whatever happens: in `finally`, and from a process
 * 'exit' handler should the test die first.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { AioError, IoContext } from '../src/index.js';
import { AIO_MAX_NR, AIO_NR, aioLimitSkipReason, readProcNumber, saveAioMaxNr } from './helpers/aio-limit.js';


test('IoContext.setup beyond aio-max-nr throws AioError EAGAIN naming the sysctl', (t) => {
  const skip = aioLimitSkipReason();
  if (skip) return t.skip(skip);
  const { original, restore } = saveAioMaxNr();
  // Restored in `finally`, after the test, and at exit should the process die in between.
  process.on('exit', restore);
  t.after(() => {
    restore();
    process.off('exit', restore);
  });
  const contexts: IoContext[] = [];
  let refused: unknown;
  const PER = 16;
  try {
    // Other processes may make contexts meanwhile: keep the window short
    // and the margin small, and just go on until the limit bites.
    fs.writeFileSync(AIO_MAX_NR, String(readProcNumber(AIO_NR) + 3 * PER));
    for (let i = 0; i < 200 && refused === undefined; i++) {
      try {
        contexts.push(IoContext.setup(PER));
      } catch (err) {
        refused = err;
      }
    }
    // Asking for more than the limit itself is refused the same way.
    let tooBig: unknown;
    try {
      IoContext.setup(readProcNumber(AIO_MAX_NR) + 1).destroy();
    } catch (err) {
      tooBig = err;
    }
    for (const c of contexts) c.destroy();
    // With them gone there is room again, still under the lowered limit.
    const again = IoContext.setup(PER);
    assert.equal(again.destroyed, false);
    again.destroy();
    restore();

    // Three fit in the margin, unless other processes' contexts came or went meanwhile.
    assert.ok(contexts.length >= 1 && contexts.length < 200, `${contexts.length} contexts fit in a margin of ${3 * PER} events`);
    t.diagnostic(`${contexts.length} contexts of ${PER} events fit under aio-nr + ${3 * PER}`);
    assert.ok(refused instanceof AioError, `expected AioError, got ${String(refused)}`);
    assert.ok(refused instanceof Error);
    assert.equal(refused.code, 'EAGAIN');
    assert.equal(refused.errno, -11);
    assert.equal(refused.syscall, 'io_setup');
    assert.ok(refused.hint, 'no hint');
    assert.ok(refused.hint.includes('/proc/sys/fs/aio-max-nr'), `hint: ${refused.hint}`);
    assert.match(refused.hint, /aio-nr is \d+/, 'the hint gives the current aio-nr');
    assert.match(refused.hint, /sysctl fs\.aio-max-nr/);
    assert.ok(refused.message.includes(refused.hint));
    assert.ok(tooBig instanceof AioError && tooBig.code === 'EAGAIN' && tooBig.syscall === 'io_setup', `setup(limit + 1): ${String(tooBig)}`);
  } finally {
    for (const c of contexts) c.destroy();
    restore();
  }
  assert.equal(fs.readFileSync(AIO_MAX_NR, 'utf8').trim(), original);
});

test('IoContext.setup refuses sizes out of range before the kernel sees them', () => {
  for (const n of [0, -1, 2 ** 21, 2 ** 20 + 1, 1.5, NaN]) {
    assert.throws(() => IoContext.setup(n), RangeError, `setup(${n})`);
  }
  const one = IoContext.setup(1);
  assert.equal(one.maxEvents, 1);
  assert.ok(one.capacity >= 1);
  one.destroy();
});
