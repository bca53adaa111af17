/**
 * The system facts shared by `info`, `bench` and the tests: the mountinfo
 * parser, the mount a path lives on, device numbers, and the open-only
 * O_DIRECT probe (which leaves nothing behind).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { mountOf, parseMountinfo } from '../src/sysinfo/mounts.js';
import { splitDev } from '../src/sysinfo/devices.js';
import { directOpenError } from '../src/sysinfo/o-direct.js';
import { diskDir } from './helpers/disk.js';

const MOUNTINFO = [
  '22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw',
  '30 22 0:25 / /mnt/my\\040disk rw - xfs /dev/mapper/a\\040b rw,attr2',
  '31 22 0:26 / /mnt/my\\040disk/inner rw master:3 - tmpfs tmpfs rw',
  'not a mountinfo line',
].join('\n');

test('mountinfo: fields, octal escapes, optional fields; bad lines are left out', () => {
  const m = parseMountinfo(MOUNTINFO);
  assert.deepEqual(m.map((x) => [x.dev, x.mountPoint, x.fsType, x.source]), [
    ['8:1', '/', 'ext4', '/dev/sda1'],
    ['0:25', '/mnt/my disk', 'xfs', '/dev/mapper/a b'],
    ['0:26', '/mnt/my disk/inner', 'tmpfs', 'tmpfs'],
  ]);
});

test('mountOf: the longest mount point above the path, preferring its device number', () => {
  const m = parseMountinfo(MOUNTINFO);
  assert.equal(mountOf('/mnt/my disk/inner/x', '0:26', m)?.fsType, 'tmpfs');
  assert.equal(mountOf('/mnt/my disk/x', '0:25', m)?.fsType, 'xfs');
  assert.equal(mountOf('/mnt/my disk/innerx', null, m)?.fsType, 'xfs', 'a prefix of a name is not a parent');
  assert.equal(mountOf('/mnt/my disk/inner/x', '8:1', m)?.fsType, 'ext4', 'the device number wins');
  assert.equal(mountOf(null, '8:1', m), null);
});

test('splitDev decodes dev_t as glibc does', () => {
  assert.deepEqual(splitDev(0x0801), [8, 1]);
  // major 259, minor 300: the high bits of both.
  assert.deepEqual(splitDev(((259 & 0xfff) << 8) | (300 & 0xff) | ((300 & ~0xff) << 12)), [259, 300]);
});

test('directOpenError: null in a folder that takes O_DIRECT, the error elsewhere; no probe file left', (t) => {
  const { dir, skip } = diskDir();
  if (!dir) return t.skip(skip!);
  const before = fs.readdirSync(dir).sort();
  assert.equal(directOpenError(dir), null);
  assert.deepEqual(fs.readdirSync(dir).sort(), before);
  assert.equal(directOpenError(`${dir}/no-such-folder`)?.code, 'ENOENT');
});
