/**
 * Reading the small text files of procfs and sysfs, where a missing file is
 * an unknown fact rather than an error.
 * @internal
 * @module
 */
import fs from 'node:fs';

/** The trimmed contents of `file`, or null when it cannot be read. */
export function readText(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return null;
  }
}

/** The decimal integer in `file`, or null when it cannot be read or holds something else. */
export function readInt(file: string): number | null {
  const text = readText(file);
  if (text === null || !/^-?\d+$/.test(text)) return null;
  return Number(text);
}

/** `fn()`, or null when it throws: for facts that may be unknowable. */
export function attempt<T>(fn: () => T): T | null {
  try {
    return fn();
  } catch {
    return null;
  }
}
