/**
 * Fallback where io_uring is not allowed: with kernel.io_uring_disabled = 2
 * (as root) 'auto' sends buffered files to the thread pool, O_DIRECT ones
 * still to Linux AIO, `engine: 'uring'` fails with an AioError that says
 * why, and `info` reports the same. The sysctl is system-wide, so it is set
 * for one short child process only and always restored (finally, and an
 * exit handler should this process die first).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import { randomFile } from './helpers/disk.js';

const SYSCTL = '/proc/sys/kernel/io_uring_disabled';

function whyNot(): string | undefined {
  if (process.getuid?.() !== 0) return 'setting kernel.io_uring_disabled needs root';
  if (!fs.existsSync(SYSCTL)) return `${SYSCTL} does not exist (Linux < 6.6)`;
  return undefined;
}

/** What the child finds, as one JSON line. */
function childScript(file: string): string {
  const url = (p: string): string => JSON.stringify(new URL(p, import.meta.url).href);
  return `
    const { open, IoQueue, AioError } = await import(${url('../src/index.js')});
    const { uringAvailability, autoEngine } = await import(${url('../src/engine/select.js')});
    const { gatherInfo } = await import(${url('../src/sysinfo/path-info.js')});
    const { formatInfo } = await import(${url('../src/cli/info.js')});
    const { engineReport } = await import(${url('../src/engine/select.js')});
    const out = { usable: uringAvailability().usable, reason: uringAvailability().reason };
    const b = await open(${JSON.stringify(file)}, 'r', { direct: false });
    out.buffered = b.engine;
    out.read = await b.read(Buffer.alloc(100), 0);
    await b.close();
    const d = await open(${JSON.stringify(file)}, 'r');
    out.direct = d.engine;
    await d.close();
    try { await open(${JSON.stringify(file)}, 'r', { engine: 'uring' }); out.forced = 'opened'; }
    catch (e) { out.forced = { aio: e instanceof AioError, code: e.code, syscall: e.syscall, hint: e.hint }; }
    out.info = formatInfo({ ...gatherInfo([]), engines: engineReport() });
    console.log(JSON.stringify(out));
  `;
}

test('fallback: with kernel.io_uring_disabled = 2, buffered files go to the thread pool and info says why', { skip: whyNot() }, (t) => {
  const f = randomFile(t, 8192, 'uring-fallback');
  if (!f) return;
  const saved = fs.readFileSync(SYSCTL, 'utf8').trim();
  const restore = (): void => {
    if (fs.readFileSync(SYSCTL, 'utf8').trim() !== saved) fs.writeFileSync(SYSCTL, saved);
  };
  process.on('exit', restore);
  let r: ReturnType<typeof spawnSync>;
  try {
    fs.writeFileSync(SYSCTL, '2');
    r = spawnSync(process.execPath, ['--input-type=module', '-e', childScript(f.path)], { encoding: 'utf8', timeout: 20_000 });
  } finally {
    restore();
    process.off('exit', restore);
  }
  assert.equal(fs.readFileSync(SYSCTL, 'utf8').trim(), saved, 'the sysctl is back');
  assert.equal(r.status, 0, String(r.stderr));
  const out = JSON.parse(String(r.stdout).trim().split('\n').pop()!);
  assert.equal(out.usable, false);
  assert.match(out.reason, /EPERM: kernel\.io_uring_disabled is 2/);
  assert.equal(out.buffered, 'threadpool', 'buffered files fall back to the thread pool, not to Linux AIO');
  assert.equal(out.read, 100);
  assert.equal(out.direct, 'aio');
  assert.deepEqual({ ...out.forced, hint: undefined }, { aio: true, code: 'EPERM', syscall: 'io_uring_setup', hint: undefined });
  assert.match(out.forced.hint, /io_uring_disabled/);
  assert.match(out.info, /^auto, buffered +threadpool \(buffered: io_uring is not usable \(io_uring_setup fails with EPERM/m);
  assert.match(out.info, /^io_uring ring +cannot be set up/m);
  // And where it is allowed, the same report says so.
  if (saved === '0') {
    const ok = spawnSync(process.execPath, ['--input-type=module', '-e', childScript(f.path)], { encoding: 'utf8', timeout: 20_000 });
    const back = JSON.parse(String(ok.stdout).trim().split('\n').pop()!);
    assert.equal(back.buffered, 'uring');
    assert.equal(back.forced, 'opened');
    assert.match(back.info, /^auto, buffered +uring/m);
  }
});
