/**
 * FIFOs for poll requests: a named pipe made with mkfifo, opened non-blocking
 * with one read end and one write end. AIO poll needs a file that waits on a
 * single queue, so the ends are separate descriptors (an O_RDWR FIFO waits on
 * two queues and the kernel refuses to poll it with EINVAL).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { IoContext } from '../../src/index.js';

export interface Fifo {
  path: string;
  readFd: number;
  writeFd: number;
  /** Writes `data` to the write end. */
  write(data?: string): void;
  /** Closes both ends and removes the FIFO (idempotent). */
  close(): void;
}

let counter = 0;

export function makeFifo(): Fifo {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'linux-aio-fifo-'));
  const p = path.join(dir, `fifo-${process.pid}-${counter++}`);
  execFileSync('mkfifo', ['-m', '600', p]);
  const readFd = fs.openSync(p, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  const writeFd = fs.openSync(p, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
  let closed = false;
  return {
    path: p,
    readFd,
    writeFd,
    write(data = 'x') {
      fs.writeSync(writeFd, data);
    },
    close() {
      if (closed) return;
      closed = true;
      for (const fd of [readFd, writeFd]) {
        try {
          fs.closeSync(fd);
        } catch {
          /* already closed by the test */
        }
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A context and a FIFO for poll requests, both released after the test. */
export function pollContext(t: { after(fn: () => void): void }, maxEvents: number): { ctx: IoContext; fifo: Fifo } {
  const fifo = makeFifo();
  const ctx = IoContext.setup(maxEvents);
  t.after(() => {
    ctx.destroy();
    fifo.close();
  });
  return { ctx, fifo };
}
