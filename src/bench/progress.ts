/**
 * A one-line progress bar on a terminal: which run, how far into it, and the
 * time left for everything. Redrawn a few times a second with a carriage
 * return; nothing is drawn when the stream is not a TTY.
 * @internal
 * @module
 */

/** Where the bar is drawn. */
export interface BarStream {
  isTTY?: boolean;
  columns?: number;
  write(text: string): boolean;
}

function mmss(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/** Progress over `total` runs of about `runMs` each. */
export class ProgressBar {
  readonly #stream: BarStream;
  readonly #total: number;
  readonly #runMs: number;
  #index = 0;
  #label = '';
  #runStart = 0;
  #timer: NodeJS.Timeout | undefined;
  #drawn = false;

  constructor(stream: BarStream, total: number, runMs: number) {
    this.#stream = stream;
    this.#total = total;
    this.#runMs = runMs;
  }

  /** Whether a bar would be drawn on `stream` at all. */
  static wanted(stream: BarStream, json: boolean): boolean {
    return !json && stream.isTTY === true;
  }

  /** Run `index` (from 0) begins. */
  startRun(index: number, label: string): void {
    this.#index = index;
    this.#label = label;
    this.#runStart = Date.now();
    this.#draw();
    this.#timer ??= setInterval(() => this.#draw(), 250);
    this.#timer.unref();
  }

  /** Clears the line and stops redrawing. */
  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    if (this.#drawn) this.#stream.write('\r\x1b[K');
    this.#drawn = false;
  }

  /** Writes a line above the bar. */
  log(line: string): void {
    if (this.#drawn) this.#stream.write('\r\x1b[K');
    this.#stream.write(`${line}\n`);
    this.#drawn = false;
    if (this.#timer) this.#draw();
  }

  #draw(): void {
    const elapsed = Date.now() - this.#runStart;
    const inRun = Math.min(1, elapsed / this.#runMs);
    const done = (this.#index + inRun) / this.#total;
    const width = 24;
    const filled = Math.round(done * width);
    const bar = '#'.repeat(filled) + '-'.repeat(width - filled);
    const left = (this.#total - this.#index - inRun) * this.#runMs;
    let text = `[${bar}] ${this.#index + 1}/${this.#total} ${this.#label} ${mmss(elapsed)} · ${mmss(left)} left`;
    const cols = this.#stream.columns ?? 80;
    if (text.length > cols - 1) text = text.slice(0, cols - 1);
    this.#stream.write(`\r\x1b[K${text}`);
    this.#drawn = true;
  }
}
