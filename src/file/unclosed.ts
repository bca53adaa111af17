/**
 * Files dropped without close(), as Node's FileHandle treats them: once an
 * AioFile is unreachable (and so idle: a request in flight keeps its file
 * reachable through the engine) its descriptor is closed, with a process
 * warning that names the path, so that a leak shows and ends.
 * @internal
 * @module
 */
import fs from 'node:fs';

interface Dropped {
  fd: number;
  path: string;
  /** What must happen before the fd may close (take it out of a ring's file table). */
  beforeClose: (() => void) | undefined;
}

const registry = new FinalizationRegistry<Dropped>(({ fd, path, beforeClose }) => {
  try {
    beforeClose?.();
  } catch {
    // the ring is gone, or the kernel refused: the fd is forgotten either way
  }
  fs.close(fd, () => {
    /* nothing to tell: nobody holds the file any more */
  });
  process.emitWarning(`Closing file descriptor ${fd} of ${path} on garbage collection: close an AioFile when done with it (or use await using)`,
    { type: 'Warning', code: 'LINUX_AIO_UNCLOSED_FILE' });
});

/** Closes `fd` when `file` is collected unless {@link closing} was called first. */
export function watchUnclosed(file: object, fd: number, path: string, beforeClose?: () => void): void {
  registry.register(file, { fd, path, beforeClose }, file);
}

/** `file` closes its descriptor itself. */
export function closing(file: object): void {
  registry.unregister(file);
}
