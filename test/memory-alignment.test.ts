/**
 * allocAligned() hands out zeroed memory, even where freed buffers full of
 * bytes are being reused; AioFile.alignment is what statx(STATX_DIOALIGN)
 * says (asked here by a small C program of the test's own, not through the
 * library), or the device's logical block size where statx says nothing;
 * and open(path, flags, { size }) preallocates without blocking the event
 * loop.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { allocAligned, isAddressAligned, open } from '../src/index.js';
import { attachLoop, diskDir, loopSkipReason, tempPath } from './helpers/disk.js';
import { forceGC } from './helpers/gc.js';

test('allocAligned() returns zeroed memory, also when freed buffers full of bytes are reused', () => {
  for (let round = 0; round < 4; round++) {
    // Memory full of 0xff, dropped, and collected: the next allocations of
    // the same sizes may well reuse it.
    for (let i = 0; i < 64; i++) allocAligned(256 << 10).fill(0xff);
    for (let i = 0; i < 256; i++) allocAligned(4096, 512).fill(0xff);
    forceGC();
    for (const [size, alignment] of [[256 << 10, 4096], [4096, 512], [4096, 4096], [1, 1], [65536, 65536], [12345, 64]] as const) {
      for (let i = 0; i < 8; i++) {
        const b = allocAligned(size, alignment);
        assert.equal(b.length, size);
        assert.ok(isAddressAligned(b, alignment), `allocAligned(${size}, ${alignment}) is aligned`);
        const at = b.findIndex((x) => x !== 0);
        assert.equal(at, -1, `allocAligned(${size}, ${alignment}): byte ${at} is 0x${b[at]?.toString(16)}, not zero`);
      }
    }
  }
});

const STATX_SOURCE = `
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#ifndef STATX_DIOALIGN
#define STATX_DIOALIGN 0x2000U
#endif
int main(int argc, char **argv) {
  struct statx st;
  if (argc < 2 || statx(AT_FDCWD, argv[1], 0, STATX_DIOALIGN, &st) != 0) { perror("statx"); return 1; }
  /* stx_dio_mem_align and stx_dio_offset_align follow stx_mnt_id (Linux 6.1 layout). */
  const unsigned *dio = (const unsigned *)((const char *)&st.stx_mnt_id + sizeof st.stx_mnt_id);
  printf("%u %u %u\\n", (st.stx_mask & STATX_DIOALIGN) ? 1u : 0u, dio[0], dio[1]);
  return 0;
}
`;

let statxTool: { bin?: string; skip?: string } | undefined;
/** Builds the statx helper once; or says why it cannot be had. */
function statxBinary(): { bin?: string; skip?: string } {
  if (statxTool) return statxTool;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'linux-aio-statx-'));
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  const src = path.join(dir, 'dio.c');
  const bin = path.join(dir, 'dio');
  fs.writeFileSync(src, STATX_SOURCE);
  try {
    execFileSync('cc', ['-O0', '-o', bin, src], { stdio: 'pipe' });
    statxTool = { bin };
  } catch (err) {
    statxTool = { skip: `cannot build the statx helper with cc: ${String((err as Error).message).split('\n')[0]}` };
  }
  return statxTool;
}

/** statx(STATX_DIOALIGN) of `p`: undefined when the kernel or file system reports none. */
function statxDio(bin: string, p: string): { memory: number; offset: number } | undefined {
  const [has, memory, offset] = execFileSync(bin, [p], { encoding: 'utf8' }).trim().split(' ').map(Number);
  return has === 1 && memory! > 0 && offset! > 0 ? { memory: memory!, offset: offset! } : undefined;
}

/** The logical block size of the device a path is on (or is), from sysfs. */
function logicalBlockSize(p: string): number {
  const st = fs.statSync(p);
  const dev = st.isBlockDevice() ? st.rdev : st.dev;
  const base = `/sys/dev/block/${Math.floor(dev / 256) & 0xfff}:${(dev & 0xff) | ((dev >> 12) & 0xfff00)}`;
  for (const f of [`${base}/queue/logical_block_size`, `${base}/../queue/logical_block_size`]) {
    try {
      return Number(fs.readFileSync(f, 'utf8').trim());
    } catch {
      /* a partition: its queue is its parent's */
    }
  }
  return 4096;
}

async function checkAlignment(t: TestContext, bin: string, p: string, what: string): Promise<void> {
  const file = await open(p, 'r+');
  try {
    const dio = statxDio(bin, p);
    const expected = dio ?? { memory: logicalBlockSize(p), offset: logicalBlockSize(p) };
    t.diagnostic(`${what}: statx DIO alignment ${dio ? JSON.stringify(dio) : 'not reported'}; AioFile.alignment ${JSON.stringify(file.alignment)}`);
    assert.deepEqual({ ...file.alignment }, expected, `${what}: AioFile.alignment is ${dio ? "statx's" : 'the logical block size'}`);
    // And it is enough: a request aligned to exactly that goes through.
    const buf = allocAligned(Math.max(file.alignment.offset, file.alignment.memory) * 2, file.alignment.memory)
      .subarray(0, file.alignment.offset);
    if (isAddressAligned(buf, file.alignment.memory)) assert.equal(await file.read(buf, file.alignment.offset), buf.length);
  } finally {
    await file.close();
  }
}

test('AioFile.alignment is statx\'s DIO alignment: a disk file, a file on tmpfs, a loop device with 4 KiB sectors', async (t) => {
  const { bin, skip } = statxBinary();
  if (skip) return t.skip(skip);
  const disk = diskDir();
  if (disk.skip) return t.skip(disk.skip);
  const p = tempPath('dio-align');
  fs.writeFileSync(p, Buffer.alloc(64 << 10));
  t.after(() => fs.rmSync(p, { force: true }));
  await checkAlignment(t, bin!, p, 'disk file');

  let shm: string | undefined;
  try {
    shm = fs.mkdtempSync('/dev/shm/linux-aio-dio-');
  } catch {
    t.diagnostic('no /dev/shm: the tmpfs case is left out');
  }
  if (shm) {
    t.after(() => fs.rmSync(shm!, { recursive: true, force: true }));
    const q = path.join(shm, 'f');
    fs.writeFileSync(q, Buffer.alloc(64 << 10));
    try {
      await checkAlignment(t, bin!, q, 'tmpfs file');
    } catch (err) {
      if ((err as { code?: string }).code !== 'EINVAL') throw err;
      t.diagnostic('tmpfs refuses O_DIRECT here (Linux < 6.6): the tmpfs case is left out');
    }
  }

  const why = loopSkipReason();
  if (why) {
    t.diagnostic(`loop device case left out: ${why}`);
    return;
  }
  const loop = attachLoop(4 << 20, { sectorSize: 4096, directIo: true });
  t.after(() => loop.detach());
  await checkAlignment(t, bin!, loop.device, 'loop device, 4 KiB sectors');
});

test('open(path, "w+", { size }) preallocates on the thread pool: the event loop keeps turning meanwhile', async (t) => {
  // tmpfs makes fallocate slow enough to see (it clears every page it
  // allocates) and involves no disk whose latency could blur the picture.
  let shm: string;
  try {
    shm = fs.mkdtempSync('/dev/shm/linux-aio-prealloc-');
  } catch {
    return t.skip('no /dev/shm to preallocate on');
  }
  t.after(() => fs.rmSync(shm, { recursive: true, force: true }));
  const size = 64 << 20;
  let maxGap = 0;
  let last = -1;
  let spinning = true;
  const spin = (): void => {
    const now = performance.now();
    if (last >= 0) maxGap = Math.max(maxGap, now - last);
    last = now;
    if (spinning) setImmediate(spin);
  };
  forceGC(); // the earlier tests' garbage, collected now rather than mid-measure
  setImmediate(spin);
  await new Promise((resolve) => setImmediate(resolve)); // the spinner is turning
  const started = performance.now();
  const file = await open(path.join(shm, 'big'), 'w+', { size, direct: false });
  const took = performance.now() - started;
  spinning = false;
  t.after(() => file.close());
  assert.equal((await file.stat()).size, size);
  t.diagnostic(`open({ size: 64 MiB }) took ${took.toFixed(1)} ms; the longest the event loop stood still: ${maxGap.toFixed(1)} ms`);
  if (took < 20) return t.skip(`the preallocation took only ${took.toFixed(1)} ms: too quick to tell a blocked loop from a free one`);
  // Blocking, the loop would stand still for the whole fallocate.
  assert.ok(maxGap < took / 2, `the event loop stood still for ${maxGap.toFixed(1)} ms of the ${took.toFixed(1)} ms open()`);
});
