/**
 * linux-aio: Linux kernel asynchronous direct I/O for Node.js.
 * @packageDocumentation
 */
export { AioError, errnoName } from './core/errors.js';
export { Opcode, RWF, POLL } from './core/constants.js';
export { allocAligned, isAddressAligned, DEFAULT_ALIGNMENT } from './core/memory.js';
export { Iocb } from './lowlevel/iocb.js';
export { IoContext, type IoEvent, type IoContextOptions } from './lowlevel/io-context.js';
export { eventfd, eventfdRead } from './core/eventfd.js';
export {
  ioQueueInit, ioQueueRelease, ioQueueRun, ioQueueWait, ioSetCallback, ioFsync, ioFdsync, ioPoll,
  MissingCallbackError, type IoCallback,
} from './lowlevel/callback-queue.js';
export { IoQueue, type IoQueueOptions, type IoQueueStats } from './engine/io-queue.js';
export type { RequestOptions, EngineName } from './engine/backend.js';
export type { IoPriority, IoPriorityClass } from './core/ioprio.js';
export { AioFile, open, type OpenOptions } from './file/aio-file.js';
export type { AllocateMode, AllocateOptions } from './file/size-ops.js';
export type { Alignment } from './file/alignment.js';
export type { IoRange, ManyOptions } from './file/many.js';
export { createReadStream, type ReadStreamOptions } from './file/read-stream.js';
export { createWriteStream } from './file/create-write-stream.js';
export type { AioWriteStream, WriteStreamOptions } from './file/write-stream.js';
export type { WriteAtOptions } from './file/write-at.js';
export { BufferPool, type BufferPoolOptions } from './core/buffer-pool.js';
