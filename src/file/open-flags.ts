import fs from 'node:fs';
import { argRangeError, argTypeError, argValueError } from '../core/validate.js';

const { O_RDONLY, O_WRONLY, O_RDWR, O_CREAT, O_TRUNC, O_EXCL, O_APPEND, O_SYNC, O_DSYNC } = fs.constants;

const BY_NAME: Record<string, number> = {
  r: O_RDONLY,
  'r+': O_RDWR,
  'rs+': O_RDWR | O_SYNC,
  'rd+': O_RDWR | O_DSYNC,
  w: O_WRONLY | O_CREAT | O_TRUNC,
  'w+': O_RDWR | O_CREAT | O_TRUNC,
  wx: O_WRONLY | O_CREAT | O_TRUNC | O_EXCL,
  'wx+': O_RDWR | O_CREAT | O_TRUNC | O_EXCL,
  a: O_WRONLY | O_CREAT | O_APPEND,
  'a+': O_RDWR | O_CREAT | O_APPEND,
};

/** Node's flag strings (`'r'`, `'r+'`, `'w+'`, ...) or a number, as `open(2)` flags. */
export function parseOpenFlags(flags: string | number): number {
  if (typeof flags === 'number') {
    if (!Number.isInteger(flags) || flags < 0) throw argRangeError(`flags must be a non-negative integer, got ${flags}`);
    return flags;
  }
  if (typeof flags !== 'string') throw argTypeError(`flags must be a string or a number, got ${typeof flags}`);
  const value = BY_NAME[flags];
  if (value === undefined) {
    throw argValueError(`unknown flags '${flags}': use one of ${Object.keys(BY_NAME).join(', ')} or a number`);
  }
  return value;
}
