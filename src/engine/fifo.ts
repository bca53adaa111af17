/**
 * A first-in first-out queue with O(1) push, shift and remove: removal
 * leaves a hole that shift skips, and the array is compacted now and then
 * instead of being shifted on every take. (Removal by search and splice made
 * aborting n queued requests cost O(n²): 10,000 took a second, 50,000 took
 * 18 seconds, all of it blocking the event loop.)
 * @internal
 * @module
 */
export class Fifo<T extends object> {
  #items: (T | undefined)[] = [];
  /** Index in #items of the first slot not yet taken (it may be a hole). */
  #head = 0;
  /** Items pushed and neither shifted nor removed. */
  #live = 0;
  /** Position, counted from the first push ever, of #items[0]. */
  #base = 0;

  get length(): number {
    return this.#live;
  }

  /** Appends `item`; returns its position, for {@link remove}. */
  push(item: T): number {
    this.#items.push(item);
    this.#live++;
    return this.#base + this.#items.length - 1;
  }

  /** Copies the first `n` items (at most {@link length}) into `out[0..n)`, in order. */
  front(n: number, out: T[]): void {
    const items = this.#items;
    for (let i = this.#head, k = 0; k < n && i < items.length; i++) {
      const item = items[i];
      if (item !== undefined) out[k++] = item;
    }
  }

  shift(): T | undefined {
    const items = this.#items;
    while (this.#head < items.length && items[this.#head] === undefined) this.#head++;
    if (this.#head >= items.length) return undefined;
    const item = items[this.#head]!;
    items[this.#head++] = undefined;
    this.#live--;
    if (this.#head >= 1024 && this.#head * 2 >= items.length) {
      this.#items = items.slice(this.#head);
      this.#base += this.#head;
      this.#head = 0;
    }
    return item;
  }

  /** Removes `item`, pushed at `position`, if it is still queued (abort of a queued request). */
  remove(item: T, position: number): boolean {
    const i = position - this.#base;
    if (i < this.#head || i >= this.#items.length || this.#items[i] !== item) return false;
    this.#items[i] = undefined;
    this.#live--;
    if (this.#live === 0) {
      // Nothing left but holes: start afresh.
      this.#base += this.#items.length;
      this.#items = [];
      this.#head = 0;
    }
    return true;
  }
}
