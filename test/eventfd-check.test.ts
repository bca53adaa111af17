/**
 * eventfdRead refuses what is not an eventfd: reading a
 * file would take 8 of its bytes as a counter, and reading an idle pipe
 * would block the thread for ever.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { AioError, eventfd, eventfdRead } from '../src/index.js';
import { diskDir, tempPath } from './helpers/disk.js';
import { makeFifo } from './helpers/fifo.js';

function notAnEventfd(err: unknown): boolean {
  assert.ok(err instanceof AioError, `an AioError, got ${String(err)}`);
  assert.equal(err.code, 'EINVAL');
  assert.match(err.hint ?? '', /is not an eventfd/);
  return true;
}

test('eventfdRead on a regular file throws EINVAL and leaves the file untouched', (t) => {
  const { skip } = diskDir();
  if (skip) return t.skip(skip);
  const path = tempPath('not-eventfd');
  fs.writeFileSync(path, 'sixteen bytes!!!');
  const fd = fs.openSync(path, 'r');
  t.after(() => {
    fs.closeSync(fd);
    fs.rmSync(path, { force: true });
  });
  assert.throws(() => eventfdRead(fd), notAnEventfd);
  const back = Buffer.alloc(16);
  assert.equal(fs.readSync(fd, back, 0, 16, null), 16, 'no byte was consumed');
  assert.equal(back.toString(), 'sixteen bytes!!!');
});

test('eventfdRead on a pipe throws EINVAL, idle or not, without blocking or consuming', (t) => {
  const fifo = makeFifo();
  t.after(() => fifo.close());
  assert.throws(() => eventfdRead(fifo.readFd), notAnEventfd);
  fifo.write('12345678');
  assert.throws(() => eventfdRead(fifo.readFd), notAnEventfd);
  const back = Buffer.alloc(8);
  assert.equal(fs.readSync(fifo.readFd, back), 8);
  assert.equal(back.toString(), '12345678');
});

test('eventfdRead still reads a real eventfd', (t) => {
  const efd = eventfd(7);
  t.after(() => fs.closeSync(efd));
  assert.equal(eventfdRead(efd), 7);
  assert.equal(eventfdRead(efd), 0);
});
