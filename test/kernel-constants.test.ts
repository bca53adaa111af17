/**
 * The constants the kernel reads are the kernel's own: `RWF` against the
 * `RWF_*` defines of linux/fs.h and `Opcode` against the `IOCB_CMD_*` enum
 * of linux/aio_abi.h, read from the installed UAPI headers where there are
 * any; the values newer than the installed header are checked against the
 * mainline header's, written down here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { Opcode, RWF } from '../src/index.js';

const UAPI = '/usr/include/linux';

/**
 * From include/uapi/linux/fs.h of mainline Linux (6.14 and later; the
 * upstream header defines each as `((__force __kernel_rwf_t)0x...)`):
 * RWF_HIPRI..RWF_APPEND since 4.6-4.16, RWF_NOAPPEND since 6.9, RWF_ATOMIC
 * since 6.11, RWF_DONTCACHE since 6.14. Used for the names the installed
 * header is too old to have.
 */
const MAINLINE_RWF: Record<string, number> = {
  HIPRI: 0x01, DSYNC: 0x02, SYNC: 0x04, NOWAIT: 0x08, APPEND: 0x10, NOAPPEND: 0x20, ATOMIC: 0x40, DONTCACHE: 0x80,
};

/** `#define RWF_<NAME> ((__kernel_rwf_t)0x...)` lines of a header, as numbers. */
function headerRwf(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of text.matchAll(/^#define\s+RWF_([A-Z]+)\s+\(\((?:__force\s+)?__kernel_rwf_t\)\s*(0x[0-9a-fA-F]+)\)/gm)) {
    out.set(m[1]!, Number(m[2]));
  }
  return out;
}

test('RWF values are the kernel\'s RWF_* (linux/fs.h)', (t) => {
  const names = Object.keys(RWF) as (keyof typeof RWF)[];
  assert.deepEqual(names.sort(), Object.keys(MAINLINE_RWF).sort(), 'RWF has exactly the mainline flags');
  let installed = new Map<string, number>();
  try {
    installed = headerRwf(fs.readFileSync(`${UAPI}/fs.h`, 'utf8'));
  } catch {
    t.diagnostic(`no ${UAPI}/fs.h (linux-libc-dev): checked against the mainline values only`);
  }
  const fromHeader: string[] = [];
  for (const name of names) {
    assert.equal(RWF[name], MAINLINE_RWF[name], `RWF.${name}`);
    const v = installed.get(name);
    if (v === undefined) continue;
    assert.equal(RWF[name], v, `RWF.${name} differs from ${UAPI}/fs.h`);
    fromHeader.push(name);
  }
  t.diagnostic(`checked against ${UAPI}/fs.h: ${fromHeader.join(', ') || 'none'}; against the mainline values only: ${names.filter((n) => !fromHeader.includes(n)).join(', ') || 'none'}`);
  // The flags are distinct single bits.
  const values = names.map((n) => RWF[n]);
  for (const v of values) assert.equal(v & (v - 1), 0, `0x${v.toString(16)} is one bit`);
  assert.equal(new Set(values).size, values.length);
});

test('Opcode values are the kernel\'s IOCB_CMD_* (linux/aio_abi.h)', (t) => {
  let text: string;
  try {
    text = fs.readFileSync(`${UAPI}/aio_abi.h`, 'utf8');
  } catch {
    return t.skip(`no ${UAPI}/aio_abi.h here (linux-libc-dev is not installed)`);
  }
  const header = new Map<string, number>();
  for (const m of text.matchAll(/\bIOCB_CMD_([A-Z]+)\s*=\s*(\d+)/g)) header.set(m[1]!, Number(m[2]));
  assert.ok(header.size >= 8, `read only ${header.size} opcodes from the header`);
  for (const [name, value] of Object.entries(Opcode)) {
    assert.equal(value, header.get(name), `Opcode.${name}`);
  }
  // IOCB_CMD_NOOP is left out on purpose: the kernel refuses it (EINVAL from
  // io_submit), so it has no prep method and no export (README, libaio table).
  const missing = [...header.keys()].filter((n) => !(n in Opcode));
  assert.deepEqual(missing.filter((n) => n !== 'NOOP'), [], 'an IOCB_CMD_* that Opcode lacks');
});
