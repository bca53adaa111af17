/**
 * I/O priorities (`ioprio`, linux/ioprio.h): a scheduling class and a level
 * packed into the 16 bits of `aio_reqprio` as IOPRIO_PRIO_VALUE does, the
 * class in bits 13-15 and the level in bits 0-2.
 * @module
 */
import { argTypeError, argValueError, checkCount } from './validate.js';

/** The I/O scheduling classes a request may ask for. */
export type IoPriorityClass = 'realtime' | 'best-effort' | 'idle';

/**
 * A request's I/O priority. The I/O scheduler (mq-deadline, bfq) honours it
 * on block devices; `none` and most file-system paths ignore it.
 */
export interface IoPriority {
  /**
   * `'realtime'` is served before anything else and needs `CAP_SYS_NICE`
   * or `CAP_SYS_ADMIN` (else the kernel refuses the request with `EPERM`);
   * `'best-effort'` is the default class of every process; `'idle'` is
   * served only when the device has nothing else to do.
   */
  class: IoPriorityClass;
  /** 0 (highest) to 7 (lowest) within the class; default 4. The idle class has no levels. */
  level?: number;
}

const CLASS_SHIFT = 13;
const CLASSES: Record<IoPriorityClass, number> = { realtime: 1, 'best-effort': 2, idle: 3 };

/**
 * Checks `priority` and returns it packed for `aio_reqprio`
 * (IOPRIO_PRIO_VALUE(class, level)), with a frozen copy to hand back.
 * @internal
 */
export function encodeIoPriority(priority: unknown, name = 'priority'): { value: number; priority: Readonly<IoPriority> } {
  if (priority === null || typeof priority !== 'object') {
    throw argTypeError(`${name} must be an object { class, level? }, got ${priority === null ? 'null' : typeof priority}`);
  }
  const { class: cls, level = 4 } = priority as { class?: unknown; level?: unknown };
  if (typeof cls !== 'string' || !Object.hasOwn(CLASSES, cls)) {
    const message = `${name}.class must be 'realtime', 'best-effort' or 'idle', got ${typeof cls === 'string' ? `'${cls}'` : typeof cls}`;
    throw typeof cls === 'string' ? argValueError(message) : argTypeError(message);
  }
  checkCount(level, `${name}.level`, 0, 7);
  const c = cls as IoPriorityClass;
  return { value: (CLASSES[c] << CLASS_SHIFT) | (level as number), priority: Object.freeze({ class: c, level: level as number }) };
}
