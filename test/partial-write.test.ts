/**
 * A write that lands part-way: the kernel writes what fits
 * and answers with the count; the next write fails. write() must not resolve
 * with the short count as if it were done: it rejects with an AioError whose
 * `bytesWritten` says how much landed (writeAt too). A block device smaller than the write
 * is such a case (ENOSPC past its end); run as root on a loop device.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { allocAligned, AioError } from '../src/index.js';
import { openLoop } from './helpers/disk.js';

const MiB = 1 << 20;


function landedPartWay(bytesWritten: number): (err: unknown) => boolean {
  return (err) => {
    assert.ok(err instanceof AioError, `an AioError, got ${String(err)}`);
    assert.equal(err.code, 'ENOSPC');
    assert.equal(err.bytesWritten, bytesWritten, 'the error tells how many bytes landed');
    return true;
  };
}

for (const [engine, direct] of [['aio', true], ['uring', true], ['uring', false], ['threadpool', false]] as const) {
  test(`${engine}${direct ? '' : ', buffered'}: a write past the end of a device rejects with ENOSPC and bytesWritten`, async (t) => {
    const dev = await openLoop(t, MiB, { direct, engine });
    if (!dev) return;
    const { file } = dev;
    assert.equal(file.engine, engine);
    const buf = allocAligned(2 * MiB);
    buf.fill(0x5a);
    await assert.rejects(file.write(buf, 0), landedPartWay(MiB));
    await assert.rejects(file.writev([buf.subarray(0, MiB / 2), buf.subarray(MiB / 2)], MiB / 2), landedPartWay(MiB / 2));
    await assert.rejects(file.write(buf.subarray(0, 4096), MiB), landedPartWay(0));
    // writeAt goes on after the short write as write() does, and counts only
    // its own bytes: the span from MiB / 2 holds 100 bytes of the device first.
    await assert.rejects(file.writeAt(MiB / 2, buf), landedPartWay(MiB / 2));
    await assert.rejects(file.writeAt(MiB / 2 + 100, buf.subarray(0, MiB)), landedPartWay(MiB / 2 - 100));
    // writeFile too goes on after the short write, to the kernel's ENOSPC.
    await assert.rejects(file.writeFile(buf), (err: unknown) => {
      assert.ok(err instanceof AioError && err.code === 'ENOSPC', String(err));
      assert.equal(err.bytesWritten, undefined, 'no count of one piece among several');
      assert.equal(err.path, file.path);
      return true;
    });
    assert.equal(file.inFlight, 0);
    await file.close();
    const back = fs.readFileSync(dev.backing);
    assert.equal(back.length, MiB);
    assert.ok(back.every((b) => b === 0x5a), 'the part that fitted was written');
  });
}
