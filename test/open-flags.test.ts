/**
 * open()'s flag strings and `mode`, as the kernel sees them: the access
 * mode and the O_APPEND/O_SYNC/O_DIRECT bits from /proc/self/fdinfo, and
 * creation, truncation, exclusivity and appending from what happens to the
 * file; `mode` from the permission bits of a created file, less the umask.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { AioError, allocAligned, open, type AioFile } from '../src/index.js';
import { diskDir, tempPath } from './helpers/disk.js';

const { O_RDONLY, O_WRONLY, O_RDWR, O_APPEND, O_SYNC, O_DSYNC, O_DIRECT } = fs.constants;
/** open(2)'s access-mode bits (Node's fs.constants has no O_ACCMODE). */
const O_ACCMODE = 3;
const BLOCK = 4096;

/** The file's status flags as the kernel holds them (`flags:` of /proc/self/fdinfo, octal). */
function kernelFlags(fd: number): number {
  const m = /^flags:\s+([0-7]+)$/m.exec(fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
  assert.ok(m, `no flags line in /proc/self/fdinfo/${fd}`);
  return parseInt(m[1]!, 8);
}

function umask(): number {
  const m = /^Umask:\s+([0-7]+)$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return m ? parseInt(m[1]!, 8) : 0o022;
}

function scratch(t: TestContext, name: string, content?: Buffer): string | undefined {
  const { skip } = diskDir();
  if (skip) {
    t.skip(skip);
    return undefined;
  }
  const p = tempPath(name);
  if (content) fs.writeFileSync(p, content);
  t.after(() => fs.rmSync(p, { force: true }));
  return p;
}

const blocks = (n: number, byte: number): Buffer => allocAligned(n * BLOCK).fill(byte);

async function rejectsEbadf(p: Promise<unknown>, what: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => err instanceof AioError && err.code === 'EBADF', what);
}

/** Opens, checks the kernel's view of the flags, and closes after the test. */
async function opened(t: TestContext, p: string, flags: string, access: number, bits: number): Promise<AioFile> {
  const file = await open(p, flags);
  t.after(() => file.close());
  const k = kernelFlags(file.fd);
  assert.equal(k & O_ACCMODE, access, `'${flags}': access mode`);
  for (const [name, bit] of [['O_APPEND', O_APPEND], ['O_SYNC', O_SYNC], ['O_DIRECT', O_DIRECT]] as const) {
    assert.equal((k & bit) === bit, (bits & bit) === bit, `'${flags}': ${name} is ${(k & bit) === bit ? 'set' : 'not set'}`);
  }
  return file;
}

test("'w' creates or truncates, write-only", async (t) => {
  const p = scratch(t, 'flags-w', blocks(4, 0x11));
  if (!p) return;
  const file = await opened(t, p, 'w', O_WRONLY, O_DIRECT);
  assert.equal(fs.statSync(p).size, 0, 'the existing file was truncated');
  assert.equal(await file.write(blocks(1, 0x22), BLOCK), BLOCK);
  await rejectsEbadf(file.read(allocAligned(BLOCK), 0), "read on 'w'");
  assert.ok(fs.readFileSync(p).subarray(BLOCK).equals(blocks(1, 0x22)));
  const fresh = `${p}-new`;
  t.after(() => fs.rmSync(fresh, { force: true }));
  await (await open(fresh, 'w')).close();
  assert.equal(fs.statSync(fresh).size, 0, "'w' creates a missing file");
});

test("'wx' and 'wx+' create, and refuse a file that exists with AioError EEXIST", async (t) => {
  const p = scratch(t, 'flags-wx', blocks(1, 0x33));
  if (!p) return;
  for (const flags of ['wx', 'wx+']) {
    await assert.rejects(open(p, flags), (err: unknown) => err instanceof AioError && err.code === 'EEXIST' && err.syscall === 'open', flags);
  }
  assert.ok(fs.readFileSync(p).equals(blocks(1, 0x33)), 'the refused opens left the file alone');
  const a = `${p}-wx`;
  const b = `${p}-wxplus`;
  t.after(() => {
    fs.rmSync(a, { force: true });
    fs.rmSync(b, { force: true });
  });
  const wx = await opened(t, a, 'wx', O_WRONLY, O_DIRECT);
  assert.equal(await wx.write(blocks(1, 0x44), 0), BLOCK);
  await rejectsEbadf(wx.read(allocAligned(BLOCK), 0), "read on 'wx'");
  const wxPlus = await opened(t, b, 'wx+', O_RDWR, O_DIRECT);
  assert.equal(await wxPlus.write(blocks(1, 0x55), 0), BLOCK);
  const back = allocAligned(BLOCK);
  assert.equal(await wxPlus.read(back, 0), BLOCK);
  assert.ok(back.equals(blocks(1, 0x55)), "'wx+' reads what it wrote");
});

test("'a' and 'a+' append wherever the write is aimed, keep what is there, create a missing file", async (t) => {
  const p = scratch(t, 'flags-a', blocks(2, 0x66));
  if (!p) return;
  const a = await opened(t, p, 'a', O_WRONLY, O_APPEND | O_DIRECT);
  assert.equal(fs.statSync(p).size, 2 * BLOCK, "'a' does not truncate");
  assert.equal(await a.write(blocks(1, 0x77), 0), BLOCK, 'a write aimed at 0');
  assert.equal(fs.statSync(p).size, 3 * BLOCK, 'went to the end instead');
  await rejectsEbadf(a.read(allocAligned(BLOCK), 0), "read on 'a'");
  await a.close();
  const aPlus = await opened(t, p, 'a+', O_RDWR, O_APPEND | O_DIRECT);
  assert.equal(await aPlus.write(blocks(1, 0x88), BLOCK), BLOCK, 'a write aimed at one block in');
  const back = allocAligned(4 * BLOCK);
  assert.equal(await aPlus.read(back, 0), 4 * BLOCK, "'a+' reads anywhere");
  assert.ok(back.equals(Buffer.concat([blocks(2, 0x66), blocks(1, 0x77), blocks(1, 0x88)])), 'both writes were appended, in order');
  const fresh = `${p}-new`;
  t.after(() => fs.rmSync(fresh, { force: true }));
  await (await open(fresh, 'a')).close();
  assert.ok(fs.existsSync(fresh), "'a' creates a missing file");
});

test("'rs+' opens read-write with O_SYNC; 'r+' and 'r' without it, and never create", async (t) => {
  const p = scratch(t, 'flags-rs', blocks(2, 0x99));
  if (!p) return;
  const rs = await opened(t, p, 'rs+', O_RDWR, O_SYNC | O_DIRECT);
  assert.equal(await rs.write(blocks(1, 0xaa), BLOCK), BLOCK);
  const back = allocAligned(2 * BLOCK);
  assert.equal(await rs.read(back, 0), 2 * BLOCK);
  assert.ok(back.equals(Buffer.concat([blocks(1, 0x99), blocks(1, 0xaa)])));
  await opened(t, p, 'r+', O_RDWR, O_DIRECT);
  await opened(t, p, 'r', O_RDONLY, O_DIRECT);
  // O_SYNC includes the O_DSYNC bit; 'rd+' has only that one.
  const rd = await opened(t, p, 'rd+', O_RDWR, O_DIRECT);
  assert.equal(kernelFlags(rd.fd) & O_SYNC, O_DSYNC, "'rd+': O_DSYNC without the rest of O_SYNC");
  await assert.rejects(open(`${p}-missing`, 'r+'), (err: unknown) => err instanceof AioError && err.code === 'ENOENT');
  assert.equal(fs.existsSync(`${p}-missing`), false);
});

test('{ direct: false } leaves O_DIRECT out; numeric flags are passed as they are', async (t) => {
  const p = scratch(t, 'flags-num', blocks(1, 0xbb));
  if (!p) return;
  const buffered = await open(p, 'r', { direct: false });
  t.after(() => buffered.close());
  assert.equal(kernelFlags(buffered.fd) & O_DIRECT, 0);
  const numeric = await open(p, O_RDWR | O_APPEND);
  t.after(() => numeric.close());
  const k = kernelFlags(numeric.fd);
  assert.equal(k & O_ACCMODE, O_RDWR);
  assert.equal(k & (O_APPEND | O_DIRECT), O_APPEND | O_DIRECT);
});

test('mode: a created file gets the mode asked for, less the umask; 0o666 less the umask by default', async (t) => {
  const p = scratch(t, 'mode');
  if (!p) return;
  const mask = umask();
  const cases: [string, number | undefined][] = [[`${p}-640`, 0o640], [`${p}-604`, 0o604], [`${p}-777`, 0o777], [`${p}-default`, undefined]];
  for (const [file] of cases) t.after(() => fs.rmSync(file, { force: true }));
  for (const [file, mode] of cases) {
    const f = await open(file, 'w+', mode === undefined ? {} : { mode });
    await f.close();
    const expected = (mode ?? 0o666) & ~mask;
    assert.equal(fs.statSync(file).mode & 0o7777, expected, `mode ${mode?.toString(8) ?? 'default'} with umask ${mask.toString(8)}`);
  }
  // An existing file keeps its own mode.
  fs.chmodSync(`${p}-640`, 0o600);
  await (await open(`${p}-640`, 'r+', { mode: 0o777 })).close();
  assert.equal(fs.statSync(`${p}-640`).mode & 0o7777, 0o600);
});
