/**
 * io_setup beyond the system-wide limit: with /proc/sys/fs/aio-max-nr
 * lowered to just above the current aio-nr (as root), contexts are made
 * until IoContext.setup throws AioError EAGAIN, whose hint names the sysctl
 * and the current aio-nr; after destroying them setup works again. The
 * sysctl is restored whatever happens.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { AioError, IoContext } from '../src/index.js';

const MAX_NR = '/proc/sys/fs/aio-max-nr';
const NR = '/proc/sys/fs/aio-nr';

function readNum(p: string): number {
  return Number(fs.readFileSync(p, 'utf8').trim());
}

function rootSkipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'lowering fs.aio-max-nr needs root';
  try {
    fs.accessSync(MAX_NR, fs.constants.W_OK);
  } catch (err) {
    return `${MAX_NR} is not writable here (${(err as NodeJS.ErrnoException).code})`;
  }
  return undefined;
}

test('IoContext.setup beyond aio-max-nr throws AioError EAGAIN naming the sysctl', (t) => {
  const skip = rootSkipReason();
  if (skip) return t.skip(skip);
  const original = fs.readFileSync(MAX_NR, 'utf8').trim();
  let restored = false;
  const restore = (): void => {
    if (restored) return;
    fs.writeFileSync(MAX_NR, original);
    restored = true;
  };
  t.after(restore);
  const contexts: IoContext[] = [];
  let refused: unknown;
  const PER = 16;
  try {
    // Other processes may make contexts meanwhile: keep the window short
    // and the margin small, and just go on until the limit bites.
    fs.writeFileSync(MAX_NR, String(readNum(NR) + 3 * PER));
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
      IoContext.setup(readNum(MAX_NR) + 1).destroy();
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
  assert.equal(fs.readFileSync(MAX_NR, 'utf8').trim(), original);
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
