/**
 * Child process of iocb-priority.test.ts: opens the file as root, drops to
 * the unprivileged user `nobody` (which loses CAP_SYS_NICE), then submits a
 * read with a realtime priority and one with a best-effort priority. Prints
 * one JSON line.
 *
 * Inert unless LINUX_AIO_PRIORITY_CHILD=1 (node --test runs every .js file
 * under dist/test, helpers included).
 */
import fs from 'node:fs';

async function main(): Promise<void> {
  const { AioError, IoContext, Iocb, allocAligned } = await import('../../src/index.js');
  const fd = fs.openSync(process.argv[2]!, fs.constants.O_RDONLY | fs.constants.O_DIRECT);
  process.setgid!(65534);
  process.setuid!(65534);
  using ctx = IoContext.setup(2);
  const rt = new Iocb().prepPread(fd, allocAligned(4096), 0);
  rt.priority = { class: 'realtime', level: 0 };
  let realtime = 'accepted';
  try {
    ctx.submit([rt]);
    ctx.getEvents(1, 1, 5000);
  } catch (err) {
    realtime = err instanceof AioError ? err.code : String(err);
  }
  const be = new Iocb().prepPread(fd, allocAligned(4096), 0);
  be.priority = { class: 'best-effort', level: 0 };
  ctx.submit([be]);
  const [ev] = ctx.getEvents(1, 1, 5000);
  console.log(JSON.stringify({ uid: process.getuid!(), realtime, bestEffort: ev?.res }));
}

if (process.env.LINUX_AIO_PRIORITY_CHILD === '1') await main();
