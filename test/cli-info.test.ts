/**
 * `linux-aio info`: the built command run as a subprocess on the
 * tests' folder, in text and JSON, checked against what node:fs and /proc say;
 * the samples in the docs have the rows and keys the command prints.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { diskDir, tempPath } from './helpers/disk.js';
import { runCli, type Run } from './helpers/cli.js';
import { codeBlocks } from './helpers/markdown.js';



const run = (args: string[], cwd?: string): Promise<Run> => runCli(args, { cwd, timeoutMs: 60_000 });

const readInt = (file: string): number | null => {
  try {
    return Number(fs.readFileSync(file, 'utf8').trim());
  } catch {
    return null;
  }
};

type Report = import('../src/sysinfo/path-info.js').InfoReport;

test('info in text on the tests\' folder', async (t) => {
  const { dir, skip } = diskDir();
  if (skip) return t.skip(skip);
  const before = fs.readdirSync(dir!).sort();
  const r = await run(['info', dir!]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  const out = r.stdout;
  assert.match(out, new RegExp(`^kernel +${os.release().replace(/[.+]/g, '\\$&')}$`, 'm'));
  assert.match(out, /^aio-nr +\d+ of aio-max-nr \d+ /m);
  assert.match(out, /^io_uring +\S/m);
  assert.ok(out.includes(`\n${dir}`), 'a section for the folder');
  // diskDir() picked this folder because O_DIRECT opens there.
  assert.match(out, /^ {2}O_DIRECT +yes: a probe file took an aligned \d+-byte write and read through AIO/m);
  for (const row of ['kind', 'file system', 'mount point', 'DIO alignment', 'block size', 'device', 'rotational', 'scheduler']) {
    assert.match(out, new RegExp(`^  ${row} +\\S`, 'm'), row);
  }
  assert.match(out, /^ {2}kind +directory$/m);
  const magic = Number(fs.statfsSync(dir!).type) >>> 0;
  assert.ok(out.includes(`(magic 0x${magic.toString(16)})`), 'the statfs magic number');
  assert.deepEqual(fs.readdirSync(dir!).sort(), before, 'the probe file is gone');
});

test('info --json on the tests\' folder', async (t) => {
  const { dir, skip } = diskDir();
  if (skip) return t.skip(skip);
  const r = await run(['info', '--json', dir!]);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout) as Report;
  assert.equal(report.kernel, os.release());
  assert.equal(typeof report.aio.nr, 'number');
  assert.equal(report.aio.maxNr, readInt('/proc/sys/fs/aio-max-nr'));
  assert.equal(report.ioUring.ioUringDisabled, readInt('/proc/sys/kernel/io_uring_disabled'));
  assert.equal(typeof report.ioUring.detail, 'string');
  assert.equal(report.paths.length, 1);
  const p = report.paths[0]!;
  assert.equal(p.path, dir);
  assert.equal(p.realPath, fs.realpathSync(dir!));
  assert.equal(p.error, null);
  assert.equal(p.kind, 'directory');
  assert.equal(p.oDirect.works, true, p.oDirect.detail);
  const sfs = fs.statfsSync(dir!);
  assert.equal(p.fileSystem.magic, `0x${(Number(sfs.type) >>> 0).toString(16)}`);
  assert.equal(typeof p.fileSystem.type, 'string');
  assert.equal(p.blockSize.fileSystem, sfs.bsize);
  const pow2 = (n: number | null): boolean => n === null || (Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0);
  for (const n of [p.dioAlignment.memory, p.dioAlignment.offset, p.blockSize.logical, p.blockSize.physical]) {
    assert.ok(pow2(n), `${n} is a power of two or unknown`);
  }
  if (p.dioAlignment.memory !== null) assert.ok(['statx', 'logical block size'].includes(p.dioAlignment.source!));
  // The device, where there is one, is the one /sys names for the folder's st_dev.
  if (p.device.number !== null) {
    assert.match(p.device.number, /^\d+:\d+$/);
    assert.ok(fs.existsSync(`/sys/dev/block/${p.device.number}`));
    assert.equal(typeof p.device.name, 'string');
  }
  for (const v of [p.device.rotational]) assert.ok(v === null || typeof v === 'boolean');
});

test('info without a path examines the current folder', async (t) => {
  const { dir, skip } = diskDir();
  if (skip) return t.skip(skip);
  const r = await run(['info', '--json'], dir);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout) as Report;
  assert.equal(report.paths.length, 1);
  assert.equal(report.paths[0]!.realPath, fs.realpathSync(dir!));
});

test('info on a file opens it read-only and leaves it unchanged; a missing path is an error, exit 1', async (t) => {
  const { dir, skip } = diskDir();
  if (skip) return t.skip(skip);
  const file = tempPath('info-file');
  const missing = path.join(dir!, 'no-such-thing', 'x');
  const content = Buffer.alloc(8192, 7);
  fs.writeFileSync(file, content);
  try {
    const r = await run(['info', '--json', file, missing]);
    assert.equal(r.code, 1);
    const report = JSON.parse(r.stdout) as Report;
    const [f, m] = report.paths;
    assert.equal(f!.kind, 'file');
    assert.equal(f!.oDirect.works, true, f!.oDirect.detail);
    assert.match(f!.oDirect.detail, /read-only/);
    assert.ok(fs.readFileSync(file).equals(content), 'the file is unchanged');
    assert.equal(m!.path, missing);
    assert.equal(m!.error, 'ENOENT: no such file or directory');
    assert.equal(m!.oDirect.works, null);
    const text = await run(['info', missing]);
    assert.equal(text.code, 1);
    assert.match(text.stdout, /error: ENOENT: no such file or directory/);
  } finally {
    fs.rmSync(file, { force: true });
  }
});

test('info prints unknown, never throws, where nothing can be found out', async () => {
  const { formatInfo } = await import('../src/cli/info.js');
  const { pathInfo } = await import('../src/sysinfo/path-info.js');
  const odd = pathInfo('bad\0path');
  assert.equal(typeof odd.error, 'string');
  const text = formatInfo({
    kernel: 'x',
    aio: { nr: null, maxNr: null },
    ioUring: { available: null, ioUringDisabled: null, detail: 'unknown' },
    engines: {
      uring: { usable: false, reason: 'x' },
      autoDirect: { engine: 'aio', reason: 'y' },
      autoBuffered: { engine: 'threadpool', reason: 'z' },
      env: null,
    },
    paths: [{
      ...pathInfo('/proc/self'),
      oDirect: { works: null, detail: 'unknown' },
      dioAlignment: { memory: null, offset: null, source: null },
      blockSize: { logical: null, physical: null, fileSystem: null },
      device: { name: null, number: null, rotational: null, scheduler: null },
    }],
  });
  assert.match(text, /^aio-nr +unknown of aio-max-nr unknown/m);
  assert.match(text, /^ {2}DIO alignment +unknown$/m);
  assert.match(text, /^ {2}device +unknown$/m);
  assert.match(text, /^ {2}rotational +unknown$/m);
  assert.match(text, /^ {2}scheduler +unknown$/m);
});

test('info --help exits 0; a bad flag is one usage line and exit 2', async () => {
  const help = await run(['info', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /Usage: linux-aio info \[--json\] \[path\.\.\.\]/);
  const bad = await run(['info', '--frob']);
  assert.equal(bad.code, 2);
  assert.equal(bad.stdout, '');
  assert.match(bad.stderr, /^linux-aio info: Unknown option '--frob'[^\n]*\n$/);
});

/** The left column of info's text output: `kernel`, ..., `  kind`, ... (indent kept, paths and blanks dropped). */
const labels = (text: string): string[] => text.split('\n')
  .map((line) => /^( {0,2}\S+(?: \S+)*?)(?: {2,}|$)/.exec(line)?.[1] ?? '')
  .filter((label) => label !== '' && !label.startsWith('/'));

/** Every key path of a JSON value, arrays by their first element. */
const keyPaths = (v: unknown, at = ''): string[] => {
  if (Array.isArray(v)) return v.length === 0 ? [at] : keyPaths(v[0], `${at}[]`);
  if (v === null || typeof v !== 'object') return [at];
  return Object.entries(v).flatMap(([k, x]) => [`${at}.${k}`, ...keyPaths(x, `${at}.${k}`)]);
};

test('the docs\' samples of info have the rows and JSON keys the command prints for a folder on a disk', async (t) => {
  const { dir, skip } = diskDir();
  if (skip) return t.skip(skip);
  const text = await run(['info', dir!]);
  const json = await run(['info', '--json', dir!]);
  assert.equal(text.code, 0, text.stderr);
  const samples = ['README.md', 'docs/quickstart.md'].flatMap((f) => codeBlocks(f))
    .map((b) => ({ ...b, code: b.code.replace(/^\$ npx linux-aio info\n/, '') }))
    .filter((b) => b.code.startsWith('kernel '));
  assert.equal(samples.length, 2, 'a text sample in the README and in docs/quickstart.md');
  for (const b of samples) assert.deepEqual(labels(b.code), labels(text.stdout), `${b.file}:${b.line}`);
  const shape = codeBlocks('docs/cli.md').filter((b) => b.lang === 'json');
  assert.equal(shape.length, 1, 'one JSON sample in docs/cli.md');
  assert.deepEqual(keyPaths(JSON.parse(shape[0]!.code)), keyPaths(JSON.parse(json.stdout)), `docs/cli.md:${shape[0]!.line}`);
});
