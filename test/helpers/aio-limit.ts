/** The system-wide AIO event limit, for the tests that lower it (as root). */
import fs from 'node:fs';

export const AIO_MAX_NR = '/proc/sys/fs/aio-max-nr';
export const AIO_NR = '/proc/sys/fs/aio-nr';

export const readProcNumber = (p: string): number => Number(fs.readFileSync(p, 'utf8').trim());

/** Why fs.aio-max-nr cannot be lowered here, or undefined when it can. */
export function aioLimitSkipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'lowering fs.aio-max-nr needs root';
  try {
    fs.accessSync(AIO_MAX_NR, fs.constants.W_OK);
  } catch (err) {
    return `${AIO_MAX_NR} is not writable here (${(err as NodeJS.ErrnoException).code})`;
  }
  return undefined;
}

/** Saves fs.aio-max-nr; `restore()` writes it back if it differs (safe to call any number of times). */
export function saveAioMaxNr(): { original: string; restore: () => void } {
  const original = fs.readFileSync(AIO_MAX_NR, 'utf8').trim();
  const restore = (): void => {
    if (fs.readFileSync(AIO_MAX_NR, 'utf8').trim() !== original) fs.writeFileSync(AIO_MAX_NR, original);
  };
  return { original, restore };
}
