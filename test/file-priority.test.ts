/**
 * The request option `priority` ({ class, level }): every class reaches the
 * kernel on the aio engine, and on io_uring as the SQE's ioprio
 * (realtime without CAP_SYS_NICE is refused by the kernel itself on both,
 * which proves the field is passed), bad values are refused before the
 * kernel, and the thread pool refuses it with a reason.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { allocAligned, AioError, type IoPriority } from '../src/index.js';
import { openScratch } from './helpers/scratch-file.js';
import { uringAvailability } from '../src/engine/select.js';


test('every class and level is taken on the aio engine, by read, write, writeAt and the streams', async (t) => {
  const f = await openScratch(t, 'prio', 'w+', true);
  if (!f) return;
  const root = process.getuid?.() === 0;
  const priorities: IoPriority[] = [
    { class: 'best-effort', level: 0 }, { class: 'best-effort', level: 7 }, { class: 'best-effort' }, { class: 'idle' },
    ...(root ? [{ class: 'realtime', level: 3 } as const] : []),
  ];
  const buf = allocAligned(4096).fill(7);
  for (const priority of priorities) {
    assert.equal(await f.file.write(buf, 0, { priority }), 4096, JSON.stringify(priority));
    const back = allocAligned(4096);
    assert.equal(await f.file.read(back, 0, { priority }), 4096);
    assert.ok(back.equals(buf));
    assert.equal(await f.file.writeAt(10, 'abc', { priority }), 3);
  }
  const out = f.file.createWriteStream({ start: 5, priority: { class: 'idle' }, chunkSize: 4096 });
  out.end(Buffer.alloc(10000, 2));
  await new Promise((resolve, reject) => out.on('finish', resolve).on('error', reject));
  let total = 0;
  for await (const chunk of f.file.createReadStream({ priority: { class: 'best-effort', level: 1 } })) total += (chunk as Buffer).length;
  assert.equal(total, 10005);
  if (!root) t.diagnostic('realtime skipped: it needs CAP_SYS_NICE');
});

test('bad priorities are argument errors before the kernel; nothing stays counted', async (t) => {
  const f = await openScratch(t, 'prio', 'w+', true);
  if (!f) return;
  const buf = allocAligned(4096);
  for (const [priority, code] of [
    [{ class: 'urgent' }, 'ERR_INVALID_ARG_VALUE'], [{ class: 1 }, 'ERR_INVALID_ARG_TYPE'], [{}, 'ERR_INVALID_ARG_TYPE'],
    ['idle', 'ERR_INVALID_ARG_TYPE'], [null, 'ERR_INVALID_ARG_TYPE'], [{ class: 'best-effort', level: 8 }, 'ERR_OUT_OF_RANGE'],
    [{ class: 'best-effort', level: -1 }, 'ERR_OUT_OF_RANGE'], [{ class: 'idle', level: 1.5 }, 'ERR_OUT_OF_RANGE'],
  ] as const) {
    const opts = { priority } as never;
    await assert.rejects(f.file.read(buf, 0, opts), { code }, JSON.stringify(priority));
    await assert.rejects(f.file.writeAt(1, 'x', opts), { code }, `writeAt ${JSON.stringify(priority)}`);
    assert.throws(() => f.file.createWriteStream(opts), { code });
    assert.throws(() => f.file.createReadStream(opts), { code });
  }
  assert.equal(f.file.inFlight, 0);
  assert.equal(fs.statSync(f.path).size, 0);
});

test('the thread pool refuses a priority with AioError EOPNOTSUPP and a reason', async (t) => {
  const f = await openScratch(t, 'prio', 'w+', false, 'threadpool');
  if (!f) return;
  await assert.rejects(f.file.write(Buffer.from('abc'), 0, { priority: { class: 'idle' } }), (e: AioError) => {
    assert.ok(e instanceof AioError);
    assert.match(e.hint ?? '', /priority needs a kernel engine \(aio or uring\)/);
    return true;
  });
  assert.equal(f.file.inFlight, 0);
});

const CHILD = `
  const { open, allocAligned, AioError } = await import(process.argv[1]);
  const file = await open(process.argv[2], 'r', { engine: process.argv[3] });
  process.setgid(65534);
  process.setuid(65534);
  const out = {};
  for (const cls of ['realtime', 'best-effort']) {
    try { out[cls] = await file.read(allocAligned(4096), 0, { priority: { class: cls, level: 0 } }); }
    catch (e) { out[cls] = e instanceof AioError ? e.code : String(e); }
  }
  await file.close();
  console.log(JSON.stringify({ uid: process.getuid(), engine: file.engine, ...out }));
`;

const uring = uringAvailability();
// io_uring checks the SQE's ioprio as Linux AIO checks aio_reqprio, when the
// request is prepared (io_prep_rw calls ioprio_check_cap): a realtime class
// refused there was read from the field.
for (const engine of ['aio', 'uring'] as const) {
  test(`${engine}: without CAP_SYS_NICE the kernel refuses a realtime request (EPERM): the priority reaches it`, async (t) => {
    if (process.getuid?.() !== 0) return t.skip('needs root to drop to an unprivileged user');
    if (engine === 'uring' && !uring.usable) return t.skip(`io_uring is not usable here: ${uring.reason}`);
    const f = await openScratch(t, 'prio', 'w+', true);
    if (!f) return;
    await f.file.writeFile(Buffer.alloc(4096, 1));
    const index = fileURLToPath(new URL('../src/index.js', import.meta.url));
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', CHILD, index, f.path, engine], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 0, r.stderr);
    const got = JSON.parse(r.stdout.trim().split('\n').pop()!) as { uid: number; engine: string; realtime: unknown; 'best-effort': unknown };
    assert.notEqual(got.uid, 0);
    assert.equal(got.engine, engine);
    assert.equal(got.realtime, 'EPERM', 'the kernel checked the realtime class');
    assert.equal(got['best-effort'], 4096, 'best-effort needs no privilege');
  });
}
