/**
 * aio-max-nr through the engine and open() (the low-level
 * IoContext.setup case is test/setup-limit.test.ts). As root,
 * /proc/sys/fs/aio-max-nr is lowered to leave room for one queue: a second
 * `new IoQueue()` and an `open()` that needs this thread's default queue
 * reject with AioError EAGAIN naming the sysctl (and open() leaks no file
 * descriptor); after close() of the first queue a queue can be made again
 * under the same lowered limit. The sysctl is restored whatever happens: in
 * `finally`, and from a process 'exit' handler should the test die first.
 * The limit stays lowered for milliseconds only, as it is system-wide.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { AioError, IoQueue, open } from '../src/index.js';
import { diskDir, tempPath } from './helpers/disk.js';
import { AIO_MAX_NR, AIO_NR, aioLimitSkipReason, readProcNumber, saveAioMaxNr } from './helpers/aio-limit.js';

const skipReason = (): string | undefined => aioLimitSkipReason() ?? diskDir().skip;

function openFds(): number {
  return fs.readdirSync('/proc/self/fd').length;
}

function assertLimitError(err: unknown, what: string): asserts err is AioError {
  assert.ok(err instanceof AioError, `${what}: expected AioError, got ${String(err)}`);
  assert.equal(err.code, 'EAGAIN', what);
  assert.equal(err.errno, -11, what);
  assert.equal(err.syscall, 'io_setup', what);
  assert.ok(err.hint?.includes('/proc/sys/fs/aio-max-nr'), `${what}: the hint does not name the sysctl: ${err.hint}`);
  assert.ok(err.message.includes('aio-max-nr'), `${what}: the message does not name the sysctl: ${err.message}`);
}

test('aio-max-nr: IoQueue and open() reject with AioError EAGAIN naming the sysctl; room returns after close()', { skip: skipReason(), timeout: 60_000 }, async (t) => {
  const { original, restore } = saveAioMaxNr();
  process.on('exit', restore);
  const file = tempPath('aio-max-nr');
  fs.writeFileSync(file, Buffer.alloc(4096));
  const DEPTH = 200; // the default queue of open() is 128 deep: it must not fit either
  const made: IoQueue[] = [];
  let attempts = 0;
  try {
    // Other processes make and drop contexts too: if one slips into the
    // margin between reading aio-nr and our first queue, try again.
    for (;;) {
      attempts++;
      let first: IoQueue | undefined;
      let second: unknown;
      let viaOpen: unknown;
      let again: IoQueue | undefined;
      let fdsBefore = 0;
      let fdsAfter = 0;
      try {
        fs.writeFileSync(AIO_MAX_NR, String(readProcNumber(AIO_NR) + DEPTH + DEPTH / 2));
        try {
          first = new IoQueue({ depth: DEPTH });
          made.push(first);
        } catch (err) {
          if (attempts < 5 && err instanceof AioError && err.code === 'EAGAIN') continue;
          throw err;
        }
        try {
          made.push(new IoQueue({ depth: DEPTH }));
        } catch (err) {
          second = err;
        }
        fdsBefore = openFds();
        try {
          const f = await open(file, 'r');
          await f.close();
        } catch (err) {
          viaOpen = err;
        }
        fdsAfter = openFds();
        await first.close();
        // Room again, under the same lowered limit.
        again = new IoQueue({ depth: DEPTH });
        made.push(again);
      } finally {
        restore();
      }
      t.diagnostic(`limit lowered to aio-nr + ${DEPTH * 1.5} (attempt ${attempts}): second queue → ${String(second)}; open() → ${String(viaOpen)}`);
      assertLimitError(second, 'new IoQueue() beyond the limit');
      assertLimitError(viaOpen, 'open() beyond the limit');
      assert.equal(fdsAfter, fdsBefore, 'open() left a file descriptor behind when the queue could not be made');
      assert.ok(again, 'no queue could be made after close()');
      // The queue made after the refusal works.
      const f = await open(file, 'r', { queue: again });
      const buf = Buffer.alloc(0);
      assert.equal(await f.read(buf, 0), 0);
      await f.close();
      break;
    }
  } finally {
    for (const q of made) await q.close();
    restore();
    process.off('exit', restore);
  }
  assert.equal(fs.readFileSync(AIO_MAX_NR, 'utf8').trim(), original);
  // And with the limit back, open() gets its default queue.
  const f = await open(file, 'r');
  assert.equal(f.engine, 'aio');
  await f.close();
  await IoQueue.default().close();
});
