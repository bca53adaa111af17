/**
 * The model check in `npm test`: 100,000 random reads, writes,
 * readv/writev, writeAts, write streams and fsync/fdatasync across 4 files
 * at queue depths 1 to 256, every read compared with a shadow copy in memory
 * (test/torture/model.ts; `npm run torture` is the same engine from the
 * command line); then a shorter run of mostly writeAts and streams on each
 * kernel engine.
 *
 * The seed is random unless LINUX_AIO_TORTURE_SEED is set, and is printed:
 * `npm run torture -- --seed <seed>` replays the same operations.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { randomInt } from 'node:crypto';
import { diskDir } from './helpers/disk.js';
import { uringAvailability } from '../src/engine/select.js';
import { OpStream, hex, parseSeed, runTorture, TortureFailure, type TortureResult } from './torture/model.js';
import { GROWTH } from './torture/write-side.js';

const { dir, skip } = diskDir();
/** 100,000 in `npm test`; LINUX_AIO_TORTURE_OPS changes it (the sanitizer run's short form uses fewer). */
const OPS = Number(process.env.LINUX_AIO_TORTURE_OPS ?? 100_000);
/** The write-side runs: a twentieth as many. */
const WRITE_SIDE_OPS = Math.max(1000, Math.round(OPS / 20));

function seedFor(): number {
  return process.env.LINUX_AIO_TORTURE_SEED ? parseSeed(process.env.LINUX_AIO_TORTURE_SEED) : randomInt(0, 0xffffffff);
}

/** Every operation is counted once, and the files hold what the model holds. */
function assertCounted(r: TortureResult, ops: number): void {
  assert.equal(r.ops, ops);
  assert.equal(r.reads + r.readvs + r.writes + r.writevs + r.writeAts + r.streams + r.syncs, ops);
  assert.ok(r.finalBytesVerified >= 4 * (8 << 20) && r.finalBytesVerified <= 4 * ((8 << 20) + GROWTH));
}

test(`torture: ${OPS.toLocaleString('en')} random operations agree with the in-memory model`, { skip, timeout: 120_000 }, async (t) => {
  const seed = seedFor();
  const r = await runTorture({ seed, ops: OPS, dir: dir!, log: replayLine(t, seed, OPS, 'all') });
  t.diagnostic(
    `${r.ops} operations on ${r.engine} in ${(r.ms / 1000).toFixed(1)} s: ${r.reads} reads, ${r.readvs} readv, ${r.writes} writes, ` +
      `${r.writevs} writev, ${r.writeAts} writeAt, ${r.streams} streams (${r.abortedStreams} aborted), ${r.syncs} syncs, ` +
      `${r.aborted} aborted reads, ${r.shortReads} short; ${(r.bytesVerified / 1048576).toFixed(0)} MiB of reads checked; ` +
      `most in flight ${r.maxInFlight}`,
  );
  assertCounted(r, OPS);
  // The mix really happened: every kind of operation, at every depth asked for.
  for (const k of ['reads', 'readvs', 'writes', 'writevs', 'writeAts', 'streams', 'abortedStreams', 'syncs', 'aborted', 'shortReads'] as const) {
    assert.ok(r[k] > 0, `no ${k} in the run`);
  }
  assert.ok(r.bytesVerified > OPS * 1000, `only ${r.bytesVerified} bytes of reads were checked`);
  assert.equal(r.phases[0]!.depth, 256);
  assert.ok(r.maxInFlight > 256, `at most ${r.maxInFlight} in flight: the queue's FIFO was never used`);
  if (OPS >= 100_000) {
    // 20 phases: the mix of depths, reap paths and queue layouts is there.
    assert.ok(r.phases.some((p) => p.depth <= 4), 'no shallow phase');
    if (r.engine === 'aio') assert.ok(r.phases.some((p) => p.reap === 'syscall'), 'no phase reaped with io_getevents');
    assert.ok(r.phases.some((p) => p.queues === 'per-file'), 'no phase with a queue per file');
  }
});

/** Prints the seed before the run, so that a failure or a hang can be replayed; returns no progress log. */
function replayLine(t: { diagnostic(s: string): void }, seed: number, ops: number, mix: string, engine?: string): undefined {
  const on = engine ? ` --engine ${engine}` : '';
  console.log(`# torture seed ${hex(seed)} (replay: npm run torture -- --seed ${hex(seed)} --ops ${ops} --mix ${mix}${on})`);
  t.diagnostic(`seed ${hex(seed)}`);
  return undefined;
}

const uring = uringAvailability();
for (const engine of ['aio', 'uring'] as const) {
  const why = skip ?? (engine === 'uring' && !uring.usable ? `io_uring is not usable here: ${uring.reason}` : undefined);
  test(`torture on ${engine}: ${WRITE_SIDE_OPS.toLocaleString('en')} operations, mostly overlapping writeAts and write streams, agree with the model`,
    { skip: why, timeout: 60_000 }, async (t) => {
      const seed = seedFor();
      const r = await runTorture({ seed, ops: WRITE_SIDE_OPS, dir: dir!, engine, mix: 'writeSide', phaseOps: 2500,
        log: replayLine(t, seed, WRITE_SIDE_OPS, 'writeSide', engine) });
      t.diagnostic(`${r.writeAts} writeAt, ${r.streams} streams (${r.abortedStreams} aborted) in ${(r.ms / 1000).toFixed(1)} s; ` +
        `most in flight ${r.maxInFlight}`);
      assert.equal(r.engine, engine);
      assertCounted(r, WRITE_SIDE_OPS);
      assert.ok(r.writeAts > WRITE_SIDE_OPS / 3, `only ${r.writeAts} writeAts`);
      assert.ok(r.streams > WRITE_SIDE_OPS / 20 && r.abortedStreams > 0, `${r.streams} streams, ${r.abortedStreams} aborted`);
      assert.ok(r.maxInFlight > 64, `at most ${r.maxInFlight} in flight: writeAts never overlapped much`);
    });
}

test('torture: a byte changed behind the model\'s back is caught', { skip }, async () => {
  await assert.rejects(
    runTorture({
      seed: 7, ops: 3000, phaseOps: 1000, dir: dir!,
      betweenPhases: (phase, paths) => {
        // Overwrite all of file 0 with 0x42 through the page cache.
        if (phase === 0) fs.writeFileSync(paths[0]!, Buffer.alloc(8 << 20, 0x42));
      },
    }),
    (err: unknown) => {
      assert.ok(err instanceof TortureFailure, `expected TortureFailure, got ${String(err)}`);
      assert.match(err.message, /seed 0x00000007/);
      assert.match(err.message, /replay: npm run torture -- --seed 0x00000007/);
      assert.match(err.message, / 66[,;]|is 66/);
      return true;
    },
  );
});

test('torture: the operation stream is a function of the seed alone', () => {
  const a = new OpStream(12345, 4, 8 << 20, 512, 64 << 10);
  const b = new OpStream(12345, 4, 8 << 20, 512, 64 << 10);
  const c = new OpStream(12346, 4, 8 << 20, 512, 64 << 10);
  let differ = 0;
  for (let i = 0; i < 10_000; i++) {
    const x = a.next();
    assert.deepEqual(b.next(), x);
    if (JSON.stringify(c.next()) !== JSON.stringify(x)) differ++;
    // writeAts and streams: any alignment, inside the growth allowed.
    if (x.kind === 'writeAt' || x.kind === 'stream') {
      assert.ok(x.length > 0 && x.offset + x.length <= (8 << 20) + GROWTH);
      assert.equal(x.pieces.reduce((s, n) => s + n, 0), x.length);
      continue;
    }
    // Every other request is aligned and inside the bounds the engine promises.
    if (x.length > 0) {
      assert.equal(x.offset % 512, 0);
      assert.equal(x.length % 512, 0);
      assert.ok(x.length <= 64 << 10);
      assert.equal(x.pieces.reduce((s, n) => s + n, 0), x.length);
      assert.ok(x.pieces.every((n) => n > 0 && n % 512 === 0));
      assert.ok(x.offset <= 8 << 20);
      if (x.kind === 'write' || x.kind === 'writev') assert.ok(x.offset + x.length <= 8 << 20);
    }
  }
  assert.ok(differ > 9_000, `another seed gave ${10_000 - differ} identical operations of 10,000`);
});
