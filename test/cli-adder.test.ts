/**
 * `linux-aio adder`: the built command run as a subprocess, the
 * file it leaves checked with node:fs, and the port (examples/adder.ts) in
 * process for the wrong-sum path.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { directOpenError } from '../src/sysinfo/o-direct.js';
import { diskDir, tempPath } from './helpers/disk.js';
import { MAIN, runCli, type Run } from './helpers/cli.js';

const EXAMPLE = fileURLToPath(new URL('../examples/adder.js', import.meta.url));
const BLOCK = 4096;


const run = (args: string[], script = MAIN, uid?: number): Promise<Run> => runCli(args, { script, uid });

const success = (n: number): string =>
  `Successfully calculated that the sum of integers from 0 to ${n - 1} is ${(n * (n - 1)) / 2}`;

function lastLine(text: string): string {
  const lines = text.split('\n').filter((l) => l !== '');
  return lines[lines.length - 1] ?? '';
}

/** Checks with node:fs that block i of the file starts with the int32 LE i and is zero after it. */
function checkFile(file: string, blocks: number): void {
  const data = fs.readFileSync(file);
  assert.equal(data.length, blocks * BLOCK, 'file length');
  for (let i = 0; i < blocks; i++) {
    const at = i * BLOCK;
    assert.equal(data.readInt32LE(at), i, `block ${i} starts with ${i}`);
    const rest = data.subarray(at + 4, at + BLOCK);
    assert.ok(rest.every((b) => b === 0), `block ${i} is zero after its integer`);
  }
}

/** Runs the adder on a fresh path, expects success and checks the file. */
async function adderOk(t: { skip: (reason: string) => void }, blocks: number, flags: string[]): Promise<Run | undefined> {
  const { skip } = diskDir();
  if (skip) {
    t.skip(skip);
    return undefined;
  }
  const file = tempPath('adder');
  try {
    const r = await run(['adder', `--path=${file}`, ...flags]);
    assert.equal(r.stderr, '', 'nothing on stderr without --verbose');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${success(blocks)}\n`);
    checkFile(file, blocks);
    return r;
  } finally {
    fs.rmSync(file, { force: true });
  }
}

test('adder with the sample\'s defaults (1000 blocks, 100 concurrent, min_nr = max_nr = 1)', async (t) => {
  await adderOk(t, 1000, []);
});

test('adder --file_size 1', async (t) => {
  await adderOk(t, 1, ['--file_size', '1']);
});

test('adder --file_size 5000 --concurrent_requests 1', async (t) => {
  await adderOk(t, 5000, ['--file_size', '5000', '--concurrent_requests', '1']);
});

test('adder --file-size=2048 --concurrent-requests=512 (dashed spellings, = form)', async (t) => {
  await adderOk(t, 2048, ['--file-size=2048', '--concurrent-requests=512']);
});

test('adder --min_nr 0 (pure polling)', async (t) => {
  await adderOk(t, 1000, ['--min_nr', '0', '--max_nr', '8']);
});

test('adder --min_nr=16 --max_nr=16', async (t) => {
  const started = Date.now();
  await adderOk(t, 1000, ['--min_nr=16', '--max_nr=16']);
  // The original waited out the 100 ms timeout whenever fewer than min_nr were in flight.
  assert.ok(Date.now() - started < 30_000, 'no 100 ms stall per block');
});

test('adder with min_nr above concurrent_requests still finishes', async (t) => {
  await adderOk(t, 300, ['--file_size=300', '--concurrent_requests=4', '--min_nr=16', '--max_nr=32']);
});

test('adder accepts gflags\' single-dash form, and the last of a repeated flag wins', async (t) => {
  await adderOk(t, 7, ['-file_size=3', '--file-size', '7', '-max_nr', '4']);
});

test('adder --verbose prints the sample\'s log lines on stderr; the last stdout line stays the result', async (t) => {
  const { skip } = diskDir();
  if (skip) return t.skip(skip);
  const file = tempPath('adder-verbose');
  try {
    const r = await run(['adder', '--path', file, '--file_size', '4', '--verbose']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(lastLine(r.stdout), success(4));
    const log = r.stderr;
    for (const line of [
      'Opening file',
      'Allocating enough space for the sum',
      'Setting up the io context',
      'Writing consecutive integers to file',
      'Submitting a write to 0',
      'Submitting a write to 3',
      'Reaping between 1 and 1 io_events',
      'Calling io_getevents',
      'Calling completion function on results',
      'Write of 3 completed',
      'Reaped 1 io_events',
      'Reading consecutive integers from file',
      'Submitting a read from 3',
      'Read of 3 completed',
      'Adding 3 for a total of 6',
      'Closing AIO context and file',
      'AIO is complete',
    ]) {
      assert.ok(log.includes(`] ${line}\n`), `log has "${line}"`);
    }
    // glog's line format: Lmmdd hh:mm:ss.uuuuuu pid file] message
    assert.match(log.split('\n')[0]!, /^I\d{4} \d\d:\d\d:\d\d\.\d{6} +\d+ adder\.ts\] Opening file$/);
  } finally {
    fs.rmSync(file, { force: true });
  }
});

const badFlags: [string, string[], RegExp][] = [
  ['file_size below 1', ['--file_size', '0'], /--file_size must be at least 1, got 0/],
  ['a negative file_size', ['--file_size=-5'], /--file_size must be at least 1/],
  ['a file_size that is not a number', ['--file_size', 'abc'], /--file_size must be an integer, got 'abc'/],
  ['a file_size that is not an integer', ['--file-size=1.5'], /--file_size must be an integer/],
  ['an empty file_size', ['--file_size='], /--file_size must be an integer/],
  ['a min_nr that is not a number', ['--min_nr', 'x'], /--min_nr must be an integer/],
  ['min_nr greater than max_nr', ['--min_nr', '5', '--max_nr', '2'], /--min_nr \(5\) must not be greater than --max_nr \(2\)/],
  ['concurrent_requests below 1', ['--concurrent_requests', '0'], /--concurrent_requests must be at least 1/],
  ['max_nr below 1', ['--max_nr=0'], /--max_nr must be at least 1/],
  ['a flag without its value', ['--file_size'], /file-size/],
  ['an unknown flag', ['--bogus'], /Unknown option '--bogus'/],
  ['an unexpected argument', ['extra'], /Unexpected argument 'extra'/],
];

for (const [what, flags, message] of badFlags) {
  test(`adder rejects ${what}: one usage line, exit 2, no stack trace`, async (t) => {
    const { skip } = diskDir();
    if (skip) return t.skip(skip);
    const file = tempPath('adder-bad');
    const r = await run(['adder', '--path', file, ...flags]);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^linux-aio adder: [^\n]+\n$/, 'exactly one line');
    assert.match(r.stderr, message);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    assert.equal(fs.existsSync(file), false, 'the file was not created');
  });
}

test('adder on a path in a missing folder: one line naming the path and the cause, exit 1', async (t) => {
  const { skip } = diskDir();
  if (skip) return t.skip(skip);
  const file = path.join(tempPath('no-such-folder'), 'file');
  const r = await run(['adder', '--path', file]);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr, `linux-aio adder: cannot open ${file}: ENOENT: no such file or directory\n`);
});

test('adder where permission is denied: one line naming the path, exit 1', async (t) => {
  const { dir, skip } = diskDir();
  if (skip) return t.skip(skip);
  // Root ignores file permissions, so as root the command runs as nobody.
  const uid = process.getuid?.() === 0 ? 65534 : undefined;
  if (uid !== undefined && (await run(['--help'], MAIN, uid)).code !== 0) {
    return t.skip('running as root, and user nobody (65534) cannot run the built command from this checkout');
  }
  const locked = path.join(dir!, `locked-${process.pid}`);
  fs.mkdirSync(locked, { mode: 0o500 });
  try {
    const file = path.join(locked, 'file');
    const r = await run(['adder', '--path', file], MAIN, uid);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `linux-aio adder: cannot open ${file}: EACCES: permission denied\n`);
  } finally {
    fs.rmSync(locked, { recursive: true, force: true });
  }
});

/** A writable folder whose file system refuses O_DIRECT (EINVAL at open), if this machine has one. */
function folderRefusingDirect(): string | undefined {
  return ['/dev/shm', '/run/shm', '/run/user/' + String(process.getuid?.() ?? ''), '/tmp']
    .find((base) => directOpenError(base)?.code === 'EINVAL');
}

/**
 * A path on a file system that refuses O_DIRECT: a new file in a writable
 * folder (tmpfs before Linux 6.6), else an existing procfs file, which
 * refuses it on every kernel.
 */
function pathRefusingDirect(): { file: string; created: boolean } | undefined {
  const base = folderRefusingDirect();
  if (base) return { file: path.join(base, `adder-${process.pid}`), created: true };
  try {
    fs.closeSync(fs.openSync('/proc/version', fs.constants.O_RDONLY | fs.constants.O_DIRECT));
  } catch (err) {
    if ((err as { code?: string }).code === 'EINVAL') return { file: '/proc/version', created: false };
  }
  return undefined;
}

test('adder on a file system that refuses O_DIRECT: one line with a hint, exit 1', async (t) => {
  const target = pathRefusingDirect();
  if (!target) return t.skip('neither a writable folder nor /proc/version refuses O_DIRECT here');
  try {
    const r = await run(['adder', '--path', target.file]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^linux-aio adder: cannot open [^\n]+: EINVAL: invalid argument \(the file system refuses O_DIRECT[^\n]*\)\n$/);
    assert.ok(r.stderr.includes(target.file));
  } finally {
    if (target.created) fs.rmSync(target.file, { force: true });
  }
});

test('adder on a path that is a folder: one line, exit 1', async (t) => {
  const { dir, skip } = diskDir();
  if (skip) return t.skip(skip);
  const r = await run(['adder', '--path', dir!]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^linux-aio adder: cannot open [^\n]+: EISDIR: [^\n]+\n$/);
  assert.ok(r.stderr.includes(dir!));
});

test('adder --help prints the flags and exits 0', async () => {
  const r = await run(['adder', '--help']);
  assert.equal(r.code, 0);
  for (const flag of ['--path', '--file_size', '--concurrent_requests', '--min_nr', '--max_nr', '--verbose', '--help']) {
    assert.ok(r.stdout.includes(flag), flag);
  }
  assert.ok(r.stdout.includes('/tmp/testfile'), 'names the default path');
});

test('linux-aio: usage on no command (2), --help (0), an unknown command (2)', async () => {
  const none = await run([]);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /Usage: linux-aio <command>/);
  const help = await run(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /adder/);
  assert.match(help.stdout, /info/);
  const unknown = await run(['frobnicate']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /^linux-aio: unknown command 'frobnicate'\n/);
});

test('examples/adder.js runs by itself with the same flags', async (t) => {
  const { skip } = diskDir();
  if (skip) return t.skip(skip);
  const file = tempPath('adder-example');
  try {
    const r = await run([`--path=${file}`, '--file_size=10'], EXAMPLE);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${success(10)}\n`);
    checkFile(file, 10);
  } finally {
    fs.rmSync(file, { force: true });
  }
});

test('the port reports a wrong sum as "Expected X Got Y"', async (t) => {
  const { skip } = diskDir();
  if (skip) return t.skip(skip);
  const { runAdder } = await import('../examples/adder.js');
  const file = tempPath('adder-wrong');
  try {
    // Between the phases, change block 2's integer from 2 to 9 behind the adder's back.
    const result = await runAdder(
      { path: file, fileSize: 10, concurrentRequests: 4, minNr: 1, maxNr: 2 },
      (message) => {
        if (message !== 'Reading consecutive integers from file') return;
        const fd = fs.openSync(file, 'r+');
        try {
          const b = Buffer.alloc(4);
          b.writeInt32LE(9);
          fs.writeSync(fd, b, 0, 4, 2 * BLOCK);
          fs.fsyncSync(fd);
        } finally {
          fs.closeSync(fd);
        }
      },
    );
    assert.deepEqual(result, { sum: 52, expected: 45, ok: false, message: 'Expected 45 Got 52' });
  } finally {
    fs.rmSync(file, { force: true });
  }
});

test('the command prints "Expected X Got Y" on stderr and exits 1 on a wrong sum', async () => {
  const { main } = await import('../src/cli/adder.js');
  let out = '';
  let err = '';
  const code = await main(['--file_size=3'], { out: (s) => void (out += s), err: (s) => void (err += s) },
    async () => ({ sum: 4, expected: 3, ok: false, message: 'Expected 3 Got 4' }));
  assert.equal(code, 1);
  assert.equal(out, '');
  assert.equal(err, 'Expected 3 Got 4\n');
});
