/**
 * The layering check that `npm test` runs (scripts/check-layers.ts): each of
 * its rules catches a violating import, and the repository as it is passes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { checkLayers, cyclesOf, importsOf, readSources } from '../scripts/check-layers.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SCRIPT = fileURLToPath(new URL('../scripts/check-layers.js', import.meta.url));

const check = (files: Record<string, string>): string[] => checkLayers(new Map(Object.entries(files)));

test('check-layers: an import from a lower layer to a higher one fails, type-only ones too', () => {
  assert.deepEqual(check({ 'src/core/a.ts': "import { open } from '../file/aio-file.js';" }),
    ['src/core/a.ts: imports ../file/aio-file.js (core may not import file)']);
  assert.deepEqual(check({ 'src/bench/a.ts': "import type { CliIo } from '../cli/io.js';" }),
    ['src/bench/a.ts: imports ../cli/io.js (bench may not import cli)']);
  assert.deepEqual(check({ 'src/engine/a.ts': "import { x } from '../sysinfo/mounts.js';" }),
    ['src/engine/a.ts: imports ../sysinfo/mounts.js (engine may not import sysinfo)']);
  assert.deepEqual(check({ 'src/file/a.ts': "import { ContextCore } from '../core/context-core.js';\nimport { IoQueue } from '../engine/io-queue.js';" }), []);
});

test('check-layers: only src/core/ imports the addon', () => {
  assert.deepEqual(check({ 'src/lowlevel/a.ts': "import { native } from '../core/native.js';" }),
    ['src/lowlevel/a.ts: imports ../core/native.js (only src/core/ loads the addon)']);
  assert.deepEqual(check({ 'src/core/a.ts': "import { native } from './native.js';" }), []);
});

test('check-layers: a cycle fails, static, re-export or dynamic; a type-only one does not', () => {
  assert.deepEqual(check({ 'src/util/a.ts': "import { b } from './b.js';", 'src/util/b.ts': "export { a } from './a.js';" }),
    ['import cycle: src/util/a.ts → src/util/b.ts → src/util/a.ts']);
  assert.equal(check({ 'src/cli/a.ts': "const m = await import('./b.js');", 'src/cli/b.ts': "import './a.js';" }).length, 1);
  assert.deepEqual(check({ 'src/file/a.ts': "import type { B } from './b.js';", 'src/file/b.ts': "import { a } from './a.js';" }), []);
  assert.deepEqual(cyclesOf(new Map([['x', ['y']], ['y', ['z']], ['z', ['x']]])), [['x', 'y', 'z', 'x']]);
});

test('check-layers: an example imports only the package name and node: modules', () => {
  assert.deepEqual(check({ 'examples/a.ts': "import fs from 'node:fs';\nimport { open } from 'linux-aio';" }), []);
  assert.deepEqual(check({ 'examples/a.ts': "import { open } from '../src/index.js';\nimport fc from 'fast-check';" }), [
    "examples/a.ts: imports ../src/index.js (an example imports only 'linux-aio' and node: modules)",
    "examples/a.ts: imports fast-check (an example imports only 'linux-aio' and node: modules)",
  ]);
});

test('check-layers: bench/ and test/ do not import each other', () => {
  assert.deepEqual(check({ 'bench/a.ts': "import { diskDir } from '../test/helpers/disk.js';" }),
    ['bench/a.ts: imports ../test/helpers/disk.js (bench/ may not import test)']);
  assert.deepEqual(check({ 'test/a.test.ts': "import { x } from '../bench/micro/x.js';" }),
    ['test/a.test.ts: imports ../bench/micro/x.js (test may not import bench/)']);
});

test('check-layers: imports in comments are not imports; multi-line import lists are', () => {
  assert.deepEqual(importsOf("// import { a } from './a.js';\n/* export * from './b.js' */\nimport {\n  c,\n  d,\n} from './c.js';"),
    [{ specifier: './c.js', typeOnly: false }]);
});

test('check-layers: the script fails on a tree with a violation and passes on this repository', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'check-layers-'));
  try {
    fs.mkdirSync(path.join(dir, 'src/core'), { recursive: true });
    fs.mkdirSync(path.join(dir, 'src/cli'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'src/cli/x.ts'), 'export const x = 1;\n');
    fs.writeFileSync(path.join(dir, 'src/core/y.ts'), "import { x } from '../cli/x.js';\nexport const y = x;\n");
    const bad = spawnSync(process.execPath, [SCRIPT, dir], { encoding: 'utf8' });
    assert.equal(bad.status, 1);
    assert.equal(bad.stderr, 'check-layers: src/core/y.ts: imports ../cli/x.js (core may not import cli)\n');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  assert.deepEqual(checkLayers(readSources(ROOT)), []);
});
