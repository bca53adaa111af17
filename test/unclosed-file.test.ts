/**
 * An AioFile dropped without close() (issue 9, item 16): once it is
 * unreachable and idle its descriptor is closed, with a process warning that
 * names the path, as Node's FileHandle does; a file with a request in flight
 * is not collected under it, and a closed file is never closed twice.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { open, allocAligned } from '../src/index.js';
import { diskDir, tempPath } from './helpers/disk.js';
import { forceGC } from './helpers/gc.js';

const COUNT = 20;

function openFds(): number {
  return fs.readdirSync('/proc/self/fd').length;
}

/** Collects until `done()` holds or a second has passed. */
async function collectUntil(done: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !done(); i++) {
    forceGC();
    await sleep(10);
  }
}

test('AioFiles dropped without close() are closed on garbage collection, with a warning naming the path', async (t) => {
  const { skip } = diskDir();
  if (skip) return t.skip(skip);
  const path = tempPath('unclosed');
  fs.writeFileSync(path, Buffer.alloc(4096, 1));
  t.after(() => fs.rmSync(path, { force: true }));
  const warnings: Error[] = [];
  const onWarning = (w: Error): void => {
    if ((w as { code?: string }).code === 'LINUX_AIO_UNCLOSED_FILE') warnings.push(w);
  };
  process.on('warning', onWarning);
  t.after(() => process.off('warning', onWarning));

  // The thread's default queue (and its eventfd) is made by the first open().
  await (await open(path, 'r')).close();
  const before = openFds();
  await (async () => {
    for (let i = 0; i < COUNT; i++) {
      const file = await open(path, 'r');
      assert.equal(await file.read(allocAligned(4096), 0), 4096);
    }
  })();
  assert.ok(openFds() >= before + COUNT, 'the dropped files still hold their descriptors');
  await collectUntil(() => warnings.length >= COUNT && openFds() <= before);
  assert.ok(openFds() <= before, `descriptors left open after collection: ${openFds() - before}`);
  assert.equal(warnings.length, COUNT);
  assert.ok(warnings.every((w) => w.message.includes(path)), warnings[0]?.message);

  // Closed files are not closed again on collection (that could close a
  // descriptor that reuses the number).
  warnings.length = 0;
  await (async () => {
    for (let i = 0; i < 10; i++) await (await open(path, 'r')).close();
  })();
  const keeper = fs.openSync(path, 'r');
  t.after(() => fs.closeSync(keeper));
  for (let i = 0; i < 10; i++) {
    forceGC();
    await sleep(5);
  }
  assert.equal(warnings.length, 0);
  assert.ok(fs.fstatSync(keeper).isFile(), 'a descriptor that reused a number stays open');
});

test('a dropped file with a read in flight is not closed under it', async (t) => {
  const { skip } = diskDir();
  if (skip) return t.skip(skip);
  const path = tempPath('unclosed-inflight');
  fs.writeFileSync(path, Buffer.alloc(1 << 20, 2));
  t.after(() => fs.rmSync(path, { force: true }));
  const reads = await (async () => {
    const file = await open(path, 'r');
    return Array.from({ length: 16 }, (_, i) => file.read(allocAligned(65536), i * 65536));
  })();
  forceGC();
  assert.deepEqual(await Promise.all(reads), Array(16).fill(65536));
});
