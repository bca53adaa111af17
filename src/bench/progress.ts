/**
 * One-line progress bars on a terminal: the runs (which run, how far into it,
 * the time left for everything) and the filling of the target (bytes written,
 * time left). Redrawn a few times a second with a carriage return; nothing is
 * drawn when the stream is not a TTY. A line always fits the terminal: the
 * bar narrows, then whole parts are left out, never cut.
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

/**
 * The bar and its parts, fitted to `cols`: the bar narrows to 10 cells, then
 * the parts are left out from the last one to the second (the first, the
 * count, always stays), and what is left never reaches the last column.
 */
export function barLine(fraction: number, parts: readonly string[], cols: number): string {
  const room = Math.max(1, cols - 1);
  const f = Math.min(1, Math.max(0, fraction));
  for (let n = parts.length; n >= 1; n--) {
    const text = parts.slice(0, n).join(' ');
    const width = Math.min(30, room - text.length - 3);
    if (width >= 10 || n === 1) {
      const w = Math.max(1, width);
      const filled = Math.round(f * w);
      return `[${'#'.repeat(filled)}${'-'.repeat(w - filled)}] ${text}`.slice(0, room);
    }
  }
  return '';
}

/** Redraws one line on a TTY with a carriage return. */
class Line {
  readonly #stream: BarStream;
  #drawn = false;

  constructor(stream: BarStream) {
    this.#stream = stream;
  }

  get drawn(): boolean {
    return this.#drawn;
  }

  draw(fraction: number, parts: readonly string[]): void {
    this.#stream.write(`\r\x1b[K${barLine(fraction, parts, this.#stream.columns ?? 80)}`);
    this.#drawn = true;
  }

  clear(): void {
    if (this.#drawn) this.#stream.write('\r\x1b[K');
    this.#drawn = false;
  }
}

/** Progress over `total` runs of about `runMs` each. */
export class ProgressBar {
  readonly #stream: BarStream;
  readonly #line: Line;
  readonly #total: number;
  readonly #runMs: number;
  #index = 0;
  #label = '';
  #runStart = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(stream: BarStream, total: number, runMs: number) {
    this.#stream = stream;
    this.#line = new Line(stream);
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
    this.#line.clear();
  }

  /** Writes a line above the bar. */
  log(line: string): void {
    this.#line.clear();
    this.#stream.write(`${line}\n`);
    if (this.#timer) this.#draw();
  }

  #draw(): void {
    const elapsed = Date.now() - this.#runStart;
    const inRun = Math.min(1, elapsed / this.#runMs);
    const left = (this.#total - this.#index - inRun) * this.#runMs;
    this.#line.draw((this.#index + inRun) / this.#total,
      [`${this.#index + 1}/${this.#total}`, `${mmss(left)} left`, this.#label, `(${mmss(elapsed)} in)`]);
  }
}

/** Progress of writing `total` bytes (filling the target), drawn at most 4 times a second. */
export class ByteProgress {
  readonly #line: Line;
  readonly #total: number;
  readonly #label: string;
  readonly #start = Date.now();
  #last = 0;

  constructor(stream: BarStream, total: number, label: string) {
    this.#line = new Line(stream);
    this.#total = total;
    this.#label = label;
  }

  /** `done` of the total bytes are written. */
  update(done: number): void {
    const now = Date.now();
    if (now - this.#last < 250 && done < this.#total) return;
    this.#last = now;
    const f = this.#total > 0 ? done / this.#total : 1;
    const elapsed = now - this.#start;
    const left = f > 0 ? (elapsed / f) * (1 - f) : 0;
    this.#line.draw(f, [`${Math.floor(f * 100)}%`, `${mmss(left)} left`, this.#label]);
  }

  /** Clears the line. */
  stop(): void {
    this.#line.clear();
  }
}
