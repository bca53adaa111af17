/**
 * linux-aio: Linux kernel asynchronous direct I/O for Node.js.
 * @packageDocumentation
 */
export { AioError, errnoName } from './errors.js';
export { Opcode, RWF, POLL } from './constants.js';
export { allocAligned, isAddressAligned, DEFAULT_ALIGNMENT } from './memory.js';
export { Iocb } from './lowlevel/iocb.js';
export { IoContext, type IoEvent, type IoContextOptions } from './lowlevel/io-context.js';
export { eventfd, eventfdRead } from './lowlevel/eventfd.js';
