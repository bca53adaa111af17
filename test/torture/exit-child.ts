/**
 * A child process for test/exit-paths.test.ts: starts I/O, then leaves
 * while it is in flight, in the way argv asks.
 *
 *   node exit-child.js <queue|context> <mode> <file>
 *
 * modes: exit (process.exit(0) with I/O in the kernel), throw (an uncaught
 * exception), return (the script just ends), exit-in-callback
 * (process.exit(0) from a completion, more I/O in flight), throw-in-callback
 * (a throw from a completion's continuation: an unhandled rejection).
 *
 * Whatever the API, a poll on an eventfd that nobody writes is in the
 * kernel from the start, and still there when the process leaves: proof,
 * not the library's count, that it leaves with a request in the kernel.
 *
 * Prints `polls=N` (accepted by the kernel, unanswered), `inflight=N` when
 * it leaves and, from the 'exit' event, `completed=N` and `exit-event`.
 */
import { IoContext, IoQueue, Iocb, POLL, allocAligned, eventfd, open } from '../../src/index.js';
import fs from 'node:fs';

const [api, mode, file] = process.argv.slice(2);
if (!api || !mode || !file) {
  console.error('usage: exit-child.js <queue|context> <mode> <file>');
  process.exit(2);
}

// More requests than the queue's depth (128): when the first completions
// are reaped, the queue submits the waiting ones before any continuation
// runs, so there is always I/O in the kernel when a completion's code runs.
const REQUESTS = 256;
const SIZE = 256 << 10;
let completed = 0;
let inFlight: () => number;

const held = IoContext.setup(1);
const polls = held.submit([new Iocb().prepPoll(eventfd(0), POLL.IN)]);

process.on('exit', () => {
  console.log(`polls=${polls - held.getEvents(0, 1).length}`);
  console.log(`completed=${completed}`);
  console.log('exit-event');
});

function leave(): void {
  console.log(`inflight=${inFlight()}`);
  if (mode === 'exit') process.exit(0);
  if (mode === 'throw') throw new Error('deliberate uncaught exception with I/O in flight');
}

if (api === 'queue') {
  // Written through O_DIRECT first, not preallocated: the first writes into
  // unwritten extents (or holes) are answered EAGAIN under the engine's
  // RWF_NOWAIT and retried on the thread pool, and the process must leave
  // with requests in the kernel.
  const zeros = allocAligned(1 << 20);
  const fill = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_TRUNC | fs.constants.O_DIRECT, 0o600);
  try {
    for (let at = 0; at < REQUESTS * SIZE; at += zeros.length) fs.writeSync(fill, zeros, 0, zeros.length, at);
  } finally {
    fs.closeSync(fill);
  }
  const f = await open(file, 'r+');
  const q = IoQueue.default();
  inFlight = () => q.stats().inFlight;
  for (let i = 0; i < REQUESTS; i++) {
    const buf = allocAligned(SIZE, f.alignment.memory).fill(i);
    const p = (i % 2 === 0 ? f.write(buf, i * SIZE) : f.read(buf, i * SIZE)).then(() => {
      // The first completion to arrive, not request 0's: request 0 is a
      // write into fresh space, which the aio engine may retry on the thread
      // pool and see finish last, with nothing left in flight.
      const first = completed++ === 0;
      if (first && mode === 'exit-in-callback') {
        console.log(`inflight=${inFlight()}`);
        process.exit(0);
      }
      if (first && mode === 'throw-in-callback') {
        console.log(`inflight=${inFlight()}`);
        throw new Error('deliberate throw from a completion');
      }
    });
    if (mode !== 'throw-in-callback') p.catch((err) => {
      console.error('unexpected I/O error', err);
      process.exitCode = 3;
    });
  }
} else if (api === 'context') {
  const fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_DIRECT, 0o600);
  fs.ftruncateSync(fd, REQUESTS * SIZE);
  const ctx = IoContext.setup(REQUESTS / 4);
  inFlight = () => ctx.inFlight;
  const iocbs = Array.from({ length: REQUESTS / 4 }, (_, i) => {
    const buf = allocAligned(SIZE).fill(i);
    return i % 2 === 0 ? new Iocb().prepPwrite(fd, buf, i * SIZE) : new Iocb().prepPread(fd, buf, i * SIZE);
  });
  let n = 0;
  while (n < iocbs.length) n += ctx.submit(iocbs.slice(n));
  if (mode === 'exit-in-callback' || mode === 'throw-in-callback') {
    ctx.waitEvents(1, 1).then((evs) => {
      completed += evs.length;
      console.log(`inflight=${inFlight()}`);
      if (mode === 'exit-in-callback') process.exit(0);
      throw new Error('deliberate throw from a completion');
    });
  }
  // mode 'return': nothing waits for the context; the process ends with
  // requests in the kernel, unreaped.
} else {
  console.error(`unknown api ${api}`);
  process.exit(2);
}

if (mode === 'exit' || mode === 'throw') {
  // After the queue's flush (a nextTick): the requests are in the kernel now.
  setImmediate(leave);
} else if (mode === 'return') {
  // Only reports: the script has already returned by then.
  setImmediate(() => console.log(`inflight=${inFlight()}`));
}
