/**
 * A small SVG line chart: IOPS against queue depth, one line per engine.
 * x is on a log2 scale (depths 1, 8, 32, 128 come out evenly spread), y is
 * linear from 0; every point is labelled with its value. Self-contained
 * markup, no scripts, no external fonts.
 * @internal
 * @module
 */

/** A named line. */
export interface Series {
  name: string;
  points: { x: number; y: number }[];
}

/** What to draw. */
export interface ChartSpec {
  title: string;
  /** Lines under the title, separated by newlines. */
  subtitle?: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  width?: number;
  height?: number;
}

const PALETTE = ['#444444', '#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2'];

/** Escapes text for XML content and attribute values. */
export function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A round upper bound for an axis, at least `max`: 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 times a power of ten. */
export function niceCeil(max: number): number {
  if (!(max > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(max));
  for (const m of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * p >= max) return m * p;
  return 10 * p;
}

/** Short tick labels: 250k, 1.5M. */
export function shortNumber(n: number): string {
  if (n >= 1e6) return `${+(n / 1e6).toFixed(2)}M`;
  if (n >= 1e3) return `${+(n / 1e3).toFixed(1)}k`;
  return String(+n.toFixed(2));
}

const r1 = (n: number): string => (Math.round(n * 10) / 10).toString();

/** The chart as an SVG document. */
export function lineChart(spec: ChartSpec): string {
  const W = spec.width ?? 760;
  const H = spec.height ?? 460;
  const left = 78;
  const right = 190;
  const sub = spec.subtitle ? spec.subtitle.split('\n') : [];
  const top = 50 + 18 * sub.length;
  const bottom = 58;
  const pw = W - left - right;
  const ph = H - top - bottom;
  const xs = [...new Set(spec.series.flatMap((s) => s.points.map((p) => p.x)))].filter((x) => x > 0).sort((a, b) => a - b);
  const lx = xs.map(Math.log2);
  const xMin = lx.length ? Math.min(...lx) : 0;
  const xMax = lx.length ? Math.max(...lx) : 1;
  const xPos = (x: number): number =>
    xMax === xMin ? left + pw / 2 : left + ((Math.log2(x) - xMin) / (xMax - xMin)) * pw;
  const yTop = niceCeil(Math.max(0, ...spec.series.flatMap((s) => s.points.map((p) => p.y))) * 1.05);
  const yPos = (y: number): number => top + ph - (y / yTop) * ph;

  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  out.push(`<text x="${left}" y="24" font-size="16" font-weight="bold">${xmlEscape(spec.title)}</text>`);
  sub.forEach((line, i) => out.push(`<text x="${left}" y="${44 + 17 * i}" fill="#555555">${xmlEscape(line)}</text>`));
  // Grid and y ticks.
  for (let i = 0; i <= 5; i++) {
    const v = (yTop * i) / 5;
    const y = r1(yPos(v));
    out.push(`<line x1="${left}" y1="${y}" x2="${left + pw}" y2="${y}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${left - 8}" y="${y}" text-anchor="end" dominant-baseline="middle">${shortNumber(v)}</text>`);
  }
  for (const x of xs) {
    const px = r1(xPos(x));
    out.push(`<line x1="${px}" y1="${top}" x2="${px}" y2="${top + ph}" stroke="#f0f0f0"/>`);
    out.push(`<text x="${px}" y="${top + ph + 18}" text-anchor="middle">${x}</text>`);
  }
  out.push(`<rect x="${left}" y="${top}" width="${pw}" height="${ph}" fill="none" stroke="#999999"/>`);
  out.push(`<text x="${left + pw / 2}" y="${H - 14}" text-anchor="middle">${xmlEscape(spec.xLabel)}</text>`);
  out.push(`<text transform="translate(18 ${top + ph / 2}) rotate(-90)" text-anchor="middle">${xmlEscape(spec.yLabel)}</text>`);
  // Lines, points and legend.
  spec.series.forEach((s, i) => {
    const color = PALETTE[i % PALETTE.length]!;
    const pts = s.points.filter((p) => p.x > 0 && Number.isFinite(p.y)).sort((a, b) => a.x - b.x);
    if (pts.length > 1) {
      const d = pts.map((p) => `${r1(xPos(p.x))},${r1(yPos(p.y))}`).join(' ');
      out.push(`<polyline points="${d}" fill="none" stroke="${color}" stroke-width="2"/>`);
    }
    for (const p of pts) {
      const cx = r1(xPos(p.x));
      const cy = yPos(p.y);
      out.push(`<circle cx="${cx}" cy="${r1(cy)}" r="3.5" fill="${color}"><title>${xmlEscape(`${s.name}: ${shortNumber(p.y)} at ${p.x}`)}</title></circle>`);
      out.push(`<text x="${cx}" y="${r1(cy - 8)}" text-anchor="middle" font-size="10" fill="${color}">${shortNumber(p.y)}</text>`);
    }
    const ly = top + 10 + i * 20;
    const lx0 = left + pw + 16;
    out.push(`<line x1="${lx0}" y1="${ly}" x2="${lx0 + 22}" y2="${ly}" stroke="${color}" stroke-width="2"/>`);
    out.push(`<text x="${lx0 + 28}" y="${ly}" dominant-baseline="middle">${xmlEscape(s.name)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
