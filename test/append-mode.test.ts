/**
 * What the README documents about O_APPEND (issue 9, "document what cannot
 * be fixed"): on a file opened with 'a' or 'a+', Linux appends every write at
 * the end of the file whatever position is passed, on every engine; reads
 * still honour their position.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { open, allocAligned } from '../src/index.js';
import { diskDir, tempPath } from './helpers/disk.js';

const BLOCK = 4096;

for (const engine of ['aio', 'threadpool'] as const) {
  test(`${engine}: a write at position 0 of an 'a+' file lands at the end`, async (t) => {
    const { skip } = diskDir();
    if (skip) return t.skip(skip);
    const path = tempPath('append');
    fs.writeFileSync(path, Buffer.alloc(BLOCK, 0x11));
    t.after(() => fs.rmSync(path, { force: true }));
    const file = await open(path, 'a+', { engine });
    try {
      const buf = allocAligned(BLOCK).fill(0x22);
      assert.equal(await file.write(buf, 0), BLOCK);
      assert.equal((await file.stat()).size, 2 * BLOCK, 'appended, not written at 0');
      const back = allocAligned(BLOCK);
      assert.equal(await file.read(back, 0), BLOCK);
      assert.ok(back.every((b) => b === 0x11), 'the first block is untouched; reads honour their position');
      assert.equal(await file.read(back, BLOCK), BLOCK);
      assert.ok(back.every((b) => b === 0x22));
    } finally {
      await file.close();
    }
  });
}
