/**
 * The model check's per-file range locks, at the alignment's granularity.
 * They say which operations may be in flight together, so that every read
 * has exactly one right answer:
 * - reads share with reads;
 * - a plain write (write, writev, a write stream) excludes everything;
 * - writeAts share with other writeAts, because writeAt itself orders
 *   overlapping writeAts by call order (that is what the check checks), and
 *   exclude reads and plain writes, which writeAt does not order.
 */

/** How an operation holds its range. */
export type LockMode = 'read' | 'write' | 'writeAt';

export class Locks {
  /** n > 0: readers; -1: a plain writer. */
  readonly #cells: Int32Array;
  /** writeAts holding the cell. */
  readonly #writeAts: Int32Array;
  readonly #unit: number;

  constructor(size: number, unit: number) {
    this.#cells = new Int32Array(Math.ceil(size / unit));
    this.#writeAts = new Int32Array(this.#cells.length);
    this.#unit = unit;
  }

  /** The cells [a, b) that bytes [start, end) touch. */
  #span(start: number, end: number): [number, number] {
    const a = Math.floor(start / this.#unit);
    return [a, Math.min(this.#cells.length, Math.ceil(end / this.#unit))];
  }

  free(start: number, end: number, mode: LockMode): boolean {
    const [a, b] = this.#span(start, end);
    const c = this.#cells, s = this.#writeAts;
    for (let i = a; i < b; i++) {
      if (mode === 'read' ? c[i] === -1 || s[i] !== 0 : mode === 'write' ? c[i] !== 0 || s[i] !== 0 : c[i] !== 0) return false;
    }
    return true;
  }

  take(start: number, end: number, mode: LockMode): void {
    this.#add(start, end, mode, 1);
  }

  drop(start: number, end: number, mode: LockMode): void {
    this.#add(start, end, mode, -1);
  }

  #add(start: number, end: number, mode: LockMode, by: 1 | -1): void {
    const [a, b] = this.#span(start, end);
    const c = this.#cells, s = this.#writeAts;
    for (let i = a; i < b; i++) {
      if (mode === 'read') c[i] = c[i]! + by;
      else if (mode === 'write') c[i] = by === 1 ? -1 : 0;
      else s[i] = s[i]! + by;
    }
  }
}
