/**
 * examples/callbacks.ts, libaio's callback style on the public package:
 * run as a program it reads a whole file through callbacks and reports the
 * same length and byte sum as node:fs; it imports nothing but 'linux-aio'
 * and Node's own modules.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { randomFile } from './helpers/disk.js';

const EXAMPLE = fileURLToPath(new URL('../examples/callbacks.js', import.meta.url));
const SOURCE = fileURLToPath(new URL('../../examples/callbacks.ts', import.meta.url));

test('examples/callbacks.js reads a file through callbacks: the length and byte sum node:fs gives', (t) => {
  // Not a whole number of blocks, so the last read is short.
  const file = randomFile(t, 64 * 1024 * 9 + 4096 * 3, 'example-cb');
  if (!file) return;
  let sum = 0;
  for (const b of file.data) sum = (sum + b) >>> 0;
  const r = spawnSync(process.execPath, [EXAMPLE, file.path], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), `${file.path}: ${file.data.length} bytes, sum ${sum}`);

  const missing = spawnSync(process.execPath, [EXAMPLE, `${file.path}.missing`], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /ENOENT/);
});

test('examples/callbacks.ts imports only linux-aio and node: modules', () => {
  const specifiers = [...fs.readFileSync(SOURCE, 'utf8').matchAll(/^import .* from '([^']+)';$/gm)].map((m) => m[1]!);
  assert.ok(specifiers.includes('linux-aio'), `imports: ${specifiers.join(', ')}`);
  for (const s of specifiers) assert.ok(s === 'linux-aio' || s.startsWith('node:'), `imports ${s}`);
});
