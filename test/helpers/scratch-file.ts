/** A new, empty AioFile for one test, closed and removed after it. */
import fs from 'node:fs';
import { open, type AioFile, type EngineName } from '../../src/index.js';
import { scratchPath } from './disk.js';

/** Opens a new empty file with `flags` (O_DIRECT unless `direct` is false); undefined, the test skipped, where there is no disk folder. */
export async function openScratch(t: { skip(reason: string): void; after(fn: () => unknown): void }, name: string,
  flags = 'w+', direct = true, engine?: EngineName): Promise<{ file: AioFile; path: string } | undefined> {
  const path = scratchPath(t, name);
  if (!path) return undefined;
  fs.writeFileSync(path, '');
  const file = await open(path, flags, { direct, engine });
  t.after(() => file.close());
  return { file, path };
}
