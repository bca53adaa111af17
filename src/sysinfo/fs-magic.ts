/**
 * File-system types by their statfs magic numbers (linux/magic.h).
 * @internal
 * @module
 */
import fs from 'node:fs';

/** tmpfs: O_DIRECT there (Linux 6.6+) is a memory copy, not device I/O. */
export const TMPFS_MAGIC = 0x01021994;

/** statfs magic numbers and the names `mount` uses for them. */
export const FS_MAGIC: ReadonlyMap<number, string> = new Map([
  [0xef53, 'ext4'], [0x58465342, 'xfs'], [0x9123683e, 'btrfs'], [TMPFS_MAGIC, 'tmpfs'],
  [0x794c7630, 'overlay'], [0x9fa0, 'proc'], [0x62656572, 'sysfs'], [0x6969, 'nfs'],
  [0x2fc12fc1, 'zfs'], [0xf2f52010, 'f2fs'], [0x65735546, 'fuse'], [0xca451a4e, 'bcachefs'],
  [0x858458f6, 'ramfs'], [0x4d44, 'vfat'], [0x2011bab0, 'exfat'], [0x5346544e, 'ntfs'],
  [0x7366746e, 'ntfs3'], [0xe0f5e1e2, 'erofs'], [0x73717368, 'squashfs'], [0x9660, 'iso9660'],
  [0x15013346, 'udf'], [0x01021997, '9p'], [0xff534d42, 'cifs'], [0xfe534d42, 'smb2'],
  [0x00c36400, 'ceph'], [0x01161970, 'gfs2'], [0x7461636f, 'ocfs2'], [0x3153464a, 'jfs'],
  [0x52654973, 'reiserfs'], [0x3434, 'nilfs2'], [0x5a4f4653, 'zonefs'], [0x27e0eb, 'cgroup'],
  [0x63677270, 'cgroup2'], [0x1cd1, 'devpts'], [0x64626720, 'debugfs'], [0x74726163, 'tracefs'],
  [0x958458f6, 'hugetlbfs'], [0xcafe4a11, 'bpf'], [0x73636673, 'securityfs'],
  [0xf97cff8c, 'selinuxfs'], [0x6165676c, 'pstore'], [0xde5e81e4, 'efivarfs'],
  [0x62656570, 'configfs'], [0x0187, 'autofs'], [0x28cd3d45, 'cramfs'], [0x72b6, 'jffs2'],
  [0x786f4256, 'vboxsf'], [0x47504653, 'gpfs'], [0x0bd00bd0, 'lustre'], [0x6e736673, 'nsfs'],
]);

/** The statfs magic of the file system `p` is on, or null when statfs fails. */
export function fsMagic(p: string): number | null {
  try {
    return Number(fs.statfsSync(p).type) >>> 0;
  } catch {
    return null;
  }
}

/** True when `p` is on tmpfs. */
export function isTmpfs(p: string): boolean {
  return fsMagic(p) === TMPFS_MAGIC;
}
