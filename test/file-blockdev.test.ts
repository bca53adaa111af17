/**
 * Block devices through open(): a real loop device, attached as
 * root (skipped otherwise, with the reason), opened O_DIRECT on Linux AIO.
 * Its alignment comes from the kernel (statx or BLKSSZGET), its size from
 * BLKGETSIZE64; random writes read back, and land in the backing file.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { randomFillSync } from 'node:crypto';
import { open, allocAligned, AioError, IoQueue } from '../src/index.js';
import { openLoop } from './helpers/disk.js';
import { KERNEL_ENGINE, opSyscall } from './helpers/engine.js';

const MiB = 1 << 20;
const SIZE = 64 * MiB;
const BLOCK = 4096;

/** A loop device of SIZE bytes opened with open(device, 'r+'); closed, then detached, after the test. */
function device(t: TestContext, opts: { sectorSize?: number } = {}, queue?: IoQueue): ReturnType<typeof openLoop> {
  return openLoop(t, SIZE, queue ? { queue } : {}, opts);
}

/** The kernel's logical block size of a block device, from sysfs. */
function sysfsLogicalBlockSize(dev: string): number {
  return Number(fs.readFileSync(`/sys/block/${path.basename(dev)}/queue/logical_block_size`, 'utf8').trim());
}

test('a loop device opens as a block device on Linux AIO, with its size and alignment from the kernel', async (t) => {
  const d = await device(t);
  if (!d) return;
  const { file } = d;
  t.diagnostic(`${d.device}: alignment ${JSON.stringify(file.alignment)}`);
  assert.equal(file.isBlockDevice, true);
  assert.equal(file.engine, KERNEL_ENGINE);
  assert.equal(file.direct, true);
  const st = await file.stat();
  assert.ok(st.isBlockDevice());
  assert.equal(st.size, SIZE, 'stat().size is the device size (BLKGETSIZE64), not fstat\'s 0');
  assert.equal(fs.statSync(d.device).size, 0, '(plain fstat says 0 for a block device)');
  const lbs = sysfsLogicalBlockSize(d.device);
  assert.equal(file.alignment.offset, lbs, `offset alignment is the logical block size (${lbs})`);
  assert.ok(file.alignment.memory >= 1 && file.alignment.memory <= file.alignment.offset);
  assert.equal(file.alignment.memory & (file.alignment.memory - 1), 0, 'memory alignment is a power of two');
});

test('random writes to a loop device read back, and are in the backing file after fsync', async (t) => {
  const queue = new IoQueue({ depth: 64 });
  t.after(() => queue.close());
  const d = await device(t, {}, queue);
  if (!d) return;
  const { file } = d;
  const blocks = SIZE / BLOCK;
  const chosen = new Set<number>();
  let seed = 7;
  while (chosen.size < 600) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    chosen.add(seed % blocks);
  }
  const written = new Map<number, Buffer>();
  const writes: Promise<number>[] = [];
  for (const b of chosen) {
    const buf = randomFillSync(allocAligned(BLOCK, file.alignment.memory));
    written.set(b, buf);
    writes.push(file.write(buf, b * BLOCK));
  }
  assert.deepEqual(await Promise.all(writes), new Array(chosen.size).fill(BLOCK));
  // The last block of the device too.
  const last = randomFillSync(allocAligned(BLOCK, file.alignment.memory));
  assert.equal(await file.write(last, SIZE - BLOCK), BLOCK);
  written.set(blocks - 1, last);

  const reads = [...written].map(async ([b, want]) => {
    const got = allocAligned(BLOCK, file.alignment.memory);
    assert.equal(await file.read(got, b * BLOCK), BLOCK);
    assert.ok(got.equals(want), `block ${b} reads back`);
  });
  await Promise.all(reads);
  // A block never written is still zero.
  const untouched = [...Array(blocks).keys()].find((b) => !written.has(b))!;
  const zero = allocAligned(BLOCK, file.alignment.memory).fill(1);
  assert.equal(await file.read(zero, untouched * BLOCK), BLOCK);
  assert.ok(zero.every((x) => x === 0));

  await file.fsync();
  const backing = fs.readFileSync(d.backing);
  assert.equal(backing.length, SIZE);
  for (const [b, want] of written) {
    assert.ok(backing.subarray(b * BLOCK, (b + 1) * BLOCK).equals(want), `block ${b} is in the backing file`);
  }
  assert.ok(queue.stats().submitCalls < written.size, 'the writes were batched');
  assert.equal(queue.stats().eagain, 0);
});

test('the end of a block device: short at the edge, 0 past it, ENOSPC for a write past it', async (t) => {
  const d = await device(t);
  if (!d) return;
  const { file } = d;
  const buf = allocAligned(2 * BLOCK, file.alignment.memory);
  assert.equal(await file.read(buf, SIZE - BLOCK), BLOCK, 'a read across the end stops there');
  assert.equal(await file.read(buf, SIZE), 0, 'a read at the end reads nothing');
  // A write across the end writes what fits, then fails: it never resolves short.
  await assert.rejects(file.write(buf, SIZE - BLOCK), (err: unknown) => {
    assert.ok(err instanceof AioError);
    assert.equal(err.code, 'ENOSPC');
    assert.equal(err.bytesWritten, BLOCK, 'the block before the end landed');
    return true;
  });
  await assert.rejects(file.write(buf, SIZE), (err: unknown) => {
    assert.ok(err instanceof AioError);
    assert.equal(err.code, 'ENOSPC');
    assert.equal(err.syscall, opSyscall('pwrite'));
    return true;
  });
  assert.equal(file.inFlight, 0);
});

test('readAt on a loop device at unaligned ranges equals the backing file', async (t) => {
  const d = await device(t);
  if (!d) return;
  const { file } = d;
  const data = randomFillSync(allocAligned(MiB, file.alignment.memory));
  assert.equal(await file.write(data, 8 * MiB), MiB);
  const ranges: [number, number][] = [[8 * MiB + 1, 10], [8 * MiB + 511, 2], [9 * MiB - 3, 3], [8 * MiB + 1000, 70_000], [SIZE - 5, 100]];
  await file.fsync();
  const backing = fs.readFileSync(d.backing);
  for (const [p, n] of ranges) {
    const got = await file.readAt(p, n);
    assert.ok(got.equals(backing.subarray(p, Math.min(p + n, SIZE))), `readAt(${p}, ${n})`);
  }
});

test('{ size } on a block device: larger than the device is a RangeError, smaller is fine', async (t) => {
  const d = await device(t);
  if (!d) return;
  const fdsBefore = fs.readdirSync('/proc/self/fd').length;
  await assert.rejects(open(d.device, 'r+', { size: SIZE + BLOCK }), RangeError);
  assert.equal(fs.readdirSync('/proc/self/fd').length, fdsBefore, 'the refused open closed its fd');
  const small = await open(d.device, 'r', { size: MiB });
  assert.equal((await small.stat()).size, SIZE, 'a block device keeps its size');
  await small.close();
});

test('a loop device with 4096-byte sectors: 4096 offset alignment, 512-byte positions refused', async (t) => {
  const d = await device(t, { sectorSize: 4096 });
  if (!d) return;
  const { file } = d;
  const lbs = sysfsLogicalBlockSize(d.device);
  t.diagnostic(`${d.device} with --sector-size 4096: logical block size ${lbs}, alignment ${JSON.stringify(file.alignment)}`);
  if (lbs !== 4096) {
    t.skip(`the kernel reports a logical block size of ${lbs}, not 4096, for this loop device`);
    return;
  }
  assert.equal(file.alignment.offset, 4096);
  await assert.rejects(file.read(allocAligned(BLOCK, file.alignment.memory), 512), (err: unknown) => {
    assert.ok(err instanceof AioError);
    assert.equal(err.code, 'EINVAL');
    assert.match(err.hint ?? '', /the position 512 is not a multiple of 4096/);
    return true;
  });
  await assert.rejects(file.write(allocAligned(512, file.alignment.memory), 0), (err: unknown) => {
    assert.ok(err instanceof AioError);
    assert.match((err as AioError).hint ?? '', /the length 512 is not a multiple of 4096/);
    return true;
  });
  const buf = randomFillSync(allocAligned(BLOCK, file.alignment.memory));
  assert.equal(await file.write(buf, 5 * BLOCK), BLOCK);
  const back = allocAligned(BLOCK, file.alignment.memory);
  assert.equal(await file.read(back, 5 * BLOCK), BLOCK);
  assert.ok(back.equals(buf));
  assert.equal((await file.readAt(5 * BLOCK + 100, 50)).toString('hex'), buf.subarray(100, 150).toString('hex'));
});
