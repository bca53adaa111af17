/**
 * BufferPool: aligned buffers of one size handed out and taken back, misuse
 * refused with a typed error, and the read stream reading into a pool whose
 * chunks the consumer gives back, so that a long read makes few buffers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BufferPool, isAddressAligned, open } from '../src/index.js';
import { randomFile } from './helpers/disk.js';

test('acquire hands out aligned buffers of the size; release makes them reusable, views included', () => {
  const pool = new BufferPool(8192, { alignment: 4096, maxFree: 2 });
  const a = pool.acquire();
  const b = pool.acquire();
  assert.equal(a.length, 8192);
  assert.ok(isAddressAligned(a, 4096) && isAddressAligned(b, 4096));
  assert.notEqual(a.buffer, b.buffer);
  assert.equal(pool.created, 2);
  pool.release(a.subarray(100, 200)); // a view of a pool buffer gives back the whole buffer
  assert.equal(pool.free, 1);
  const again = pool.acquire();
  assert.equal(again.buffer, a.buffer);
  assert.equal(again.length, 8192);
  assert.equal(pool.created, 2, 'reused, not made');
  pool.release(again);
  pool.release(b);
  const c = pool.acquire();
  const d = pool.acquire();
  const e = pool.acquire();
  pool.release(c);
  pool.release(d);
  pool.release(e); // past maxFree: left to the collector
  assert.equal(pool.free, 2);
  assert.throws(() => pool.release(e), { name: 'TypeError', message: /not from this pool/ });
  pool.clear();
  assert.equal(pool.free, 0);
});

test('misuse is a TypeError or RangeError with Node\'s codes', () => {
  const pool = new BufferPool(4096);
  const buf = pool.acquire();
  pool.release(buf);
  assert.throws(() => pool.release(buf), { code: 'ERR_INVALID_ARG_VALUE', message: /released already/ });
  assert.throws(() => pool.release(Buffer.alloc(4096)), { code: 'ERR_INVALID_ARG_VALUE', message: /not from this pool/ });
  assert.throws(() => pool.release({} as never), { code: 'ERR_INVALID_ARG_TYPE' });
  assert.throws(() => new BufferPool(0), { code: 'ERR_OUT_OF_RANGE' });
  assert.throws(() => new BufferPool('1' as never), { code: 'ERR_INVALID_ARG_TYPE' });
  assert.throws(() => new BufferPool(4096, { alignment: 3000 }), { code: 'ERR_OUT_OF_RANGE' });
  assert.throws(() => new BufferPool(4096, { maxFree: -1 }), { code: 'ERR_OUT_OF_RANGE' });
  assert.throws(() => new BufferPool(4096, null as never), { code: 'ERR_INVALID_ARG_TYPE' });
});

test('a read stream over a pool yields its buffers; released chunks are reused, so a long read makes few', async (t) => {
  const fx = randomFile(t, 2 * 1024 * 1024 + 77, 'pool-read');
  if (!fx) return;
  const file = await open(fx.path, 'r');
  t.after(() => file.close());
  const pool = new BufferPool(64 * 1024, { alignment: file.alignment.memory });
  const parts: Buffer[] = [];
  for await (const chunk of file.createReadStream({ pool, depth: 3 })) {
    parts.push(Buffer.from(chunk as Buffer));
    pool.release(chunk as Buffer);
  }
  assert.ok(Buffer.concat(parts).equals(fx.data));
  assert.ok(pool.created <= 3 + 2, `33 chunks read through ${pool.created} buffers`);
  assert.throws(() => file.createReadStream({ pool: new BufferPool(1000) }), /pool's buffers/);
  assert.throws(() => file.createReadStream({ pool: {} as never }), TypeError);
});
