/**
 * Child-process script for bad-arguments.test.ts: calls the addon's
 * functions directly, bypassing the TypeScript checks, with garbage, and
 * forges the command rows shared with C. Prints one JSON line per call and
 * exits 0; a crash shows as a signal or a non-zero exit in the parent.
 *
 * Inert unless LINUX_AIO_NATIVE_ABUSE_CHILD=1 (node --test runs every .js
 * file under dist/test, helpers included).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface AbuseResult {
  label: string;
  outcome: string;
  message?: string;
  value?: unknown;
}

async function main(): Promise<void> {
  const { AioError, allocAligned } = await import('../../src/index.js');
  const { native, CMD } = await import('../../src/core/native.js');
  const results: AbuseResult[] = [];
  const settling: Promise<void>[] = [];
  const attempt = (label: string, fn: () => unknown): void => {
    try {
      const value = fn();
      if (value instanceof Promise) {
        // Asynchronous functions (fallocate) are judged by how they settle.
        settling.push(value.then(
          (v: unknown) => void results.push({ label, outcome: 'returned', value: String(v) }),
          (err: unknown) => void results.push({ label, outcome: err instanceof AioError ? 'AioError' : ((err as Error)?.constructor?.name ?? typeof err), message: (err as Error)?.message }),
        ));
        return;
      }
      results.push({ label, outcome: 'returned', value: typeof value === 'object' ? String(value) : value });
    } catch (err) {
      const e = err as Error;
      results.push({ label, outcome: e instanceof AioError ? 'AioError' : (e?.constructor?.name ?? typeof e), message: e?.message });
    }
  };
  const noop = (): void => {};

  // setup
  for (const [label, args] of [
    ['setup("x")', ['x', false, noop]],
    ['setup(0)', [0, false, noop]],
    ['setup(-1)', [-1, false, noop]],
    ['setup(NaN)', [NaN, false, noop]],
    ['setup(2**21)', [2 ** 21, false, noop]],
    ['setup(2**53)', [2 ** 53, false, noop]],
    ['setup(4, false, "not a function")', [4, false, 'nope']],
    ['setup() no arguments', []],
  ] as const) {
    attempt(label, () => (native.setup as (...a: unknown[]) => unknown)(...args));
  }

  const s = native.setup(4, false, noop);
  const h = s.handle;
  const cap = s.capacity;
  const dir = fs.mkdtempSync(path.join(process.env.LINUX_AIO_ABUSE_DIR ?? os.tmpdir(), 'abuse-'));
  const file = path.join(dir, 'f');
  fs.writeFileSync(file, Buffer.alloc(8192, 1));
  const fd = fs.openSync(file, 'r+');
  const buf = allocAligned(4096);

  const row = (values: Partial<Record<keyof typeof CMD, number>>, r = 0): void => {
    const base = r * CMD.STRIDE;
    const full = { SLOT: 0, OPCODE: 0, FD: fd, OFFSET: 0, RW_FLAGS: 0, RESFD: -1, REQPRIO: -1, AUX: 0, FIXED_FILE: -1, ...values };
    for (const [k, v] of Object.entries(full)) {
      if (k !== 'STRIDE') s.cmd[base + CMD[k as keyof typeof CMD]] = v;
    }
  };
  const submit = (label: string, values: Partial<Record<keyof typeof CMD, number>>, bufs: unknown[]): void => {
    row(values);
    attempt(label, () => native.submit(h, 1, bufs));
  };

  // submit: the handle, the count and the buffer array
  for (const bad of [{}, null, undefined, 1, 'h', buf]) attempt(`submit(handle=${describe(bad)})`, () => native.submit(bad as never, 0, []));
  for (const bad of [-1, 1.5, NaN, cap + 1, 2 ** 32, 'x']) attempt(`submit(count=${String(bad)})`, () => native.submit(h, bad as number, []));
  attempt('submit(bufs="x")', () => native.submit(h, 0, 'x' as never));
  attempt('submit(bufs={})', () => native.submit(h, 0, {} as never));
  // the buffers as arguments: too few for the count, more than 128, not buffers
  row({ OPCODE: 0 }, 0);
  row({ SLOT: 1, OPCODE: 0 }, 1);
  attempt('submit(count=2, one buffer argument)', () => native.submit(h, 2, null, false, buf));
  attempt('submit(129 buffer arguments)', () => native.submit(h, 129, null, false, ...new Array<unknown>(129).fill(buf)));
  for (const bad of [{}, 'x', 7, null, [buf]]) attempt(`submit(buffer argument ${describe(bad)})`, () => native.submit(h, 1, null, false, bad));
  // forged rows
  submit('row slot NaN', { SLOT: NaN }, [buf]);
  submit('row slot -1', { SLOT: -1 }, [buf]);
  submit('row slot = capacity', { SLOT: cap }, [buf]);
  submit('row slot 0.5', { SLOT: 0.5 }, [buf]);
  submit('row opcode 99', { OPCODE: 99 }, [buf]);
  submit('row opcode 4 (unused)', { OPCODE: 4 }, [buf]);
  submit('row opcode 1.5', { OPCODE: 1.5 }, [buf]);
  submit('row opcode NaN', { OPCODE: NaN }, [buf]);
  submit('row fd -1', { FD: -1 }, [buf]);
  submit('row fd 2**32', { FD: 2 ** 32 }, [buf]);
  submit('row fd NaN', { FD: NaN }, [buf]);
  submit('row offset -1', { OFFSET: -1 }, [buf]);
  submit('row offset 2**60', { OFFSET: 2 ** 60 }, [buf]);
  submit('row offset NaN', { OFFSET: NaN }, [buf]);
  submit('row offset Infinity', { OFFSET: Infinity }, [buf]);
  submit('pread with bufs[0] a string', { OPCODE: 0 }, ['x']);
  submit('pread with bufs[0] missing', { OPCODE: 0 }, []);
  submit('pread with bufs[0] an ArrayBuffer', { OPCODE: 0 }, [new ArrayBuffer(4096)]);
  submit('pread with bufs[0] a plain array', { OPCODE: 0 }, [[1, 2, 3]]);
  const detached = new Uint8Array(4096);
  structuredClone(detached.buffer, { transfer: [detached.buffer] });
  submit('pread into a detached buffer', { OPCODE: 0 }, [detached]);
  submit('preadv with bufs[0] a buffer, not an array', { OPCODE: 7 }, [buf]);
  submit('preadv with a string element', { OPCODE: 7 }, [[buf, 'x']]);
  submit('preadv with a detached element', { OPCODE: 7 }, [[buf, detached]]);
  // eslint-disable-next-line no-sparse-arrays
  submit('preadv with a hole', { OPCODE: 7 }, [[, buf]]);
  submit('preadv with 1025 buffers', { OPCODE: 7 }, [new Array(1025).fill(buf)]);
  submit('poll with events 2**40 in AUX', { OPCODE: 5, AUX: 2 ** 40 }, [undefined]);
  submit('pread with rwFlags 2**31', { OPCODE: 0, RW_FLAGS: 2 ** 31 }, [buf]);
  submit('pread with resfd of a regular file', { OPCODE: 0, RESFD: fd }, [buf]);
  submit('pread with reqprio 99999', { OPCODE: 0, REQPRIO: 99999 }, [buf]);

  // reap
  for (const [label, args] of [
    ['reap(handle {})', [{}, 0, 1, 0]],
    ['reap(minNr -1)', [h, -1, 1, 0]],
    ['reap(minNr > nr)', [h, 2, 1, 0]],
    ['reap(nr 1.5)', [h, 0, 1.5, 0]],
    ['reap(timeout NaN)', [h, 0, 1, NaN]],
    ['reap(timeout "x")', [h, 0, 1, 'x']],
    ['reap(nr 2**32)', [h, 0, 2 ** 32, 0]],
    ['reap(nr huge, timeout -Infinity, nothing in flight)', [h, 0, 2 ** 31, -Infinity]],
  ] as const) {
    attempt(label, () => (native.reap as (...a: unknown[]) => unknown)(...args));
  }
  // cancel, inFlight, arm
  for (const bad of [-1, cap, 2 ** 32, NaN, 'x']) attempt(`cancel(slot ${String(bad)})`, () => native.cancel(h, bad as number));
  attempt('cancel(slot 0, never used)', () => native.cancel(h, 0));
  attempt('cancel(handle {})', () => native.cancel({} as never, 0));
  attempt('inFlight({})', () => native.inFlight({} as never));
  attempt('arm({}, true)', () => native.arm({} as never, true));
  attempt('arm(handle, "yes")', () => native.arm(h, 'yes' as never));
  // eventfd
  for (const bad of [-1, 2 ** 32, NaN, 'x']) attempt(`eventfdCreate(${String(bad)})`, () => native.eventfdCreate(bad as number));
  for (const bad of [-1, 2 ** 40, NaN, 'x', 999999]) attempt(`eventfdRead(${String(bad)})`, () => native.eventfdRead(bad as number));
  // memory
  attempt('addressMod(null, 4096)', () => native.addressMod(null as never, 4096));
  attempt('addressMod(ArrayBuffer, 4096)', () => native.addressMod(new ArrayBuffer(8) as never, 4096));
  attempt('addressMod(buf, 0)', () => native.addressMod(buf, 0));
  attempt('addressMod(buf, -1)', () => native.addressMod(buf, -1));
  attempt('addressMod(detached, 4096)', () => native.addressMod(detached, 4096));
  // file facts and fallocate
  for (const bad of [-1, 999999, 'x', NaN]) attempt(`fileFacts(${String(bad)})`, () => native.fileFacts(bad as number));
  attempt('fallocate(fd, 0, -1, 10)', () => native.fallocate(fd, 0, -1, 10));
  attempt('fallocate(fd, 0, 0, 0)', () => native.fallocate(fd, 0, 0, 0));
  attempt('fallocate(999999, 0, 0, 10)', () => native.fallocate(999999, 0, 0, 10));
  attempt('fallocate(fd, 2**32, 0, 10)', () => native.fallocate(fd, 2 ** 32, 0, 10));
  attempt('fallocate(fd, 0xff, 0, 10)', () => native.fallocate(fd, 0xff, 0, 10));
  // destroy twice, then use
  attempt('destroy(handle)', () => native.destroy(h));
  attempt('destroy(handle) again', () => native.destroy(h));
  attempt('destroy({})', () => native.destroy({} as never));
  attempt('submit after destroy', () => native.submit(h, 0, []));
  attempt('reap after destroy', () => native.reap(h, 0, 1, 0));
  attempt('arm after destroy', () => native.arm(h, true));
  // error class
  attempt('setErrorClass(1)', () => native.setErrorClass(1 as never));
  attempt('setErrorClass(arrow function)', () => native.setErrorClass((() => {}) as never));
  attempt('an errno error with a broken error class', () => native.fileFacts(999999));
  native.setErrorClass(AioError);
  attempt('an errno error with AioError restored', () => native.fileFacts(999999));

  await Promise.all(settling);
  fs.closeSync(fd);
  fs.rmSync(dir, { recursive: true, force: true });
  for (const r of results) process.stdout.write(`${JSON.stringify(r)}\n`);
}

function describe(v: unknown): string {
  return v === null ? 'null' : ArrayBuffer.isView(v) ? 'a buffer' : typeof v;
}

if (process.env.LINUX_AIO_NATIVE_ABUSE_CHILD === '1') {
  main().catch((err) => {
    process.stderr.write(`${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(3);
  });
}
