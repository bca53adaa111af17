/**
 * What the package root shows: the engine side of the queue and of the file
 * (how requests are submitted and released) is not reachable from it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as root from '../src/index.js';

function members(proto: object): string[] {
  return Object.getOwnPropertyNames(proto).filter((n) => n !== 'constructor').sort();
}

test('IoQueue offers only its own controls, no request methods', () => {
  assert.deepEqual(members(root.IoQueue.prototype), ['close', 'closed', 'reapMode', 'registerBuffers', 'stats']);
  const queue = new root.IoQueue({ depth: 1 });
  try {
    assert.deepEqual(Object.keys(queue), ['depth', 'engine']);
  } finally {
    void queue.close();
  }
});

test('AioFile has no public hook for engines', () => {
  const names = members(root.AioFile.prototype);
  assert.ok(!names.some((n) => n.startsWith('_')), `underscored members: ${names.join(', ')}`);
  assert.ok(!names.includes('submit') && !names.includes('release'), names.join(', '));
});

test('the package root exports no engine internals', () => {
  for (const name of ['queueEngine', 'threadPool', 'refuse', 'abortError', 'ContextCore', 'native']) {
    assert.ok(!(name in root), `${name} is exported`);
  }
});
