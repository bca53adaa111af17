/**
 * Per-request I/O priority on the low-level Iocb (aio_reqprio with
 * IOCB_FLAG_IOPRIO): checked in JavaScript, packed as IOPRIO_PRIO_VALUE,
 * taken by the kernel for every class, and refused by the kernel when the
 * value is one it does not allow (EINVAL) or the caller may not use (EPERM).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { AioError, IoContext, Iocb, allocAligned, type IoPriority } from '../src/index.js';
import { CMD, native } from '../src/core/native.js';
import { randomFile } from './helpers/disk.js';

const BS = 4096;

test('priority: undefined by default, checked, frozen, reset by prep, fixed while in flight', (t) => {
  const cb = new Iocb();
  assert.equal(cb.priority, undefined);
  assert.equal(cb._ioprio, -1);
  cb.priority = { class: 'best-effort', level: 0 };
  assert.deepEqual(cb.priority, { class: 'best-effort', level: 0 });
  assert.ok(Object.isFrozen(cb.priority));
  assert.equal(cb._ioprio, (2 << 13) | 0);
  cb.priority = { class: 'idle' };
  assert.deepEqual(cb.priority, { class: 'idle', level: 4 }, 'level defaults to 4');
  assert.equal(cb._ioprio, (3 << 13) | 4);
  cb.priority = { class: 'realtime', level: 7 };
  assert.equal(cb._ioprio, (1 << 13) | 7);
  cb.priority = undefined;
  assert.equal(cb.priority, undefined);
  assert.equal(cb._ioprio, -1);

  for (const bad of [null, 3, 'idle', { class: 'none' }, { class: 'IDLE' }, { level: 1 }, { class: 'toString' }]) {
    assert.throws(() => (cb.priority = bad as never), TypeError, JSON.stringify(bad));
  }
  for (const level of [-1, 8, 1.5, NaN, 2 ** 40]) {
    assert.throws(() => (cb.priority = { class: 'best-effort', level }), RangeError, `level ${level}`);
  }
  assert.throws(() => (cb.priority = { class: 'best-effort', level: '1' as never }), TypeError);
  assert.equal(cb.priority, undefined, 'a refused value left a priority behind');

  const file = randomFile(t, BS, 'prio-reset');
  if (!file) return;
  const fd = fs.openSync(file.path, fs.constants.O_RDONLY);
  t.after(() => fs.closeSync(fd));
  cb.priority = { class: 'idle' };
  cb.prepPread(fd, allocAligned(BS), 0);
  assert.equal(cb.priority, undefined, 'prep kept the priority (libaio clears aio_reqprio)');
  using ctx = IoContext.setup(2);
  cb.priority = { class: 'best-effort', level: 3 };
  ctx.submit([cb]);
  assert.throws(() => (cb.priority = undefined), (e: unknown) => e instanceof AioError && e.code === 'EBUSY');
  assert.equal(ctx.getEvents(1, 1, 5000).length, 1);
});

test('the kernel takes every class and level on reads and writes', (t) => {
  const file = randomFile(t, 2 * BS, 'prio-ok');
  if (!file) return;
  const fd = fs.openSync(file.path, fs.constants.O_RDWR | fs.constants.O_DIRECT);
  using ctx = IoContext.setup(32);
  t.after(() => fs.closeSync(fd));
  const root = process.getuid?.() === 0;
  const priorities: IoPriority[] = [
    { class: 'best-effort', level: 0 }, { class: 'best-effort', level: 7 }, { class: 'idle' },
    ...(root ? [{ class: 'realtime', level: 0 }, { class: 'realtime', level: 7 }] as IoPriority[] : []),
  ];
  if (!root) t.diagnostic('realtime priorities need root (CAP_SYS_NICE): only best-effort and idle were tried');
  const reads = priorities.map((p) => {
    const cb = new Iocb().prepPread(fd, allocAligned(BS), BS);
    cb.priority = p;
    return cb;
  });
  const write = new Iocb().prepPwrite(fd, allocAligned(BS).fill(0x5a), 0);
  write.priority = { class: 'idle' };
  const all = [...reads, write];
  assert.equal(ctx.submit(all), all.length);
  const events = ctx.getEvents(all.length, all.length, 5000);
  assert.equal(events.length, all.length);
  for (const ev of events) assert.equal(ev.res, BS, `res ${ev.res} for ${JSON.stringify(ev.obj.priority)}`);
  for (const cb of reads) assert.deepEqual(cb.buffer, file.data.subarray(BS, 2 * BS));
  assert.equal(fs.readFileSync(file.path).subarray(0, BS).every((b) => b === 0x5a), true);
});

test('the kernel refuses a priority value it does not allow with EINVAL (class none with a level)', (t) => {
  // No Iocb can carry this value (class none is "no priority": priority =
  // undefined), so the row is written the way C reads it.
  const file = randomFile(t, BS, 'prio-einval');
  if (!file) return;
  const fd = fs.openSync(file.path, fs.constants.O_RDONLY | fs.constants.O_DIRECT);
  const s = native.setup(2, false, () => {});
  t.after(() => {
    native.destroy(s.handle);
    fs.closeSync(fd);
  });
  const submitWith = (reqprio: number): number => {
    const row = { SLOT: 0, OPCODE: 0, FD: fd, OFFSET: 0, RW_FLAGS: 0, RESFD: -1, REQPRIO: reqprio, AUX: 0 };
    for (const [k, v] of Object.entries(row)) s.cmd[CMD[k as keyof typeof CMD]] = v;
    return native.submit(s.handle, 1, [allocAligned(BS)]);
  };
  assert.throws(() => submitWith(1), (e: unknown) => e instanceof AioError && e.code === 'EINVAL' && e.syscall === 'io_submit');
  // The same row with a value an Iocb makes is taken.
  assert.equal(submitWith((2 << 13) | 4), 1);
  assert.equal(native.reap(s.handle, 1, 1, 5000), 1);
  assert.equal(s.events[1], BS);
});

const child = fileURLToPath(new URL('./helpers/priority-child.js', import.meta.url));

test('without CAP_SYS_NICE a realtime priority fails the submit with EPERM; best-effort still works', (t) => {
  if (process.getuid?.() !== 0) return t.skip('needs root to drop to an unprivileged user');
  const file = randomFile(t, BS, 'prio-eperm');
  if (!file) return;
  const r = spawnSync(process.execPath, [child, file.path], {
    env: { ...process.env, LINUX_AIO_PRIORITY_CHILD: '1' }, encoding: 'utf8', timeout: 20_000,
  });
  assert.equal(r.status, 0, `child failed: ${r.stderr}`);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { uid: number; realtime: string; bestEffort: number };
  assert.notEqual(out.uid, 0);
  assert.equal(out.realtime, 'EPERM');
  assert.equal(out.bestEffort, BS);
});
