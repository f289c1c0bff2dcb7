// A line chart as an SVG string: categorical x (the resolutions, evenly spaced as in
// the paper's Fig. 1), linear or log10 y, one polyline with markers per series.
// Small enough that a chart library would be the bigger part of the report.

export interface Series {
  label: string;
  color: string;
  dashed?: boolean;
  /** One value per x category; undefined where the case did not run. */
  values: Array<number | undefined>;
  /** Per x category: a short mark drawn at the top of the chart where no value is (e.g. 'skip'). */
  marks?: Array<string | undefined>;
}

export interface PlotSpec {
  title: string;
  xLabels: string[];
  xTitle: string;
  yTitle: string;
  log: boolean;
  series: Series[];
  width?: number;
  height?: number;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function fmt(v: number): string {
  if (v >= 1000) return `${+(v / 1000).toPrecision(3)}k`;
  if (v >= 1) return `${+v.toPrecision(3)}`;
  return `${+v.toPrecision(2)}`;
}

/** Tick values: powers of 10 (with 2 and 5 when the range is narrow) or a 1-2-5 step. */
function ticks(lo: number, hi: number, log: boolean): number[] {
  if (log) {
    const out: number[] = [];
    const narrow = Math.log10(hi / lo) < 2.5;
    for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
      for (const m of narrow ? [1, 2, 5] : [1]) {
        const v = m * 10 ** e;
        if (v >= lo && v <= hi) out.push(v);
      }
    }
    return out;
  }
  const raw = (hi - lo) / 5;
  const p = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw)!;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9; v += step) out.push(v);
  return out;
}

export function plotSvg(p: PlotSpec): string {
  const W = p.width ?? 520, H = p.height ?? 360;
  const m = { l: 64, r: 16, t: 36, b: 78 };
  const all = p.series.flatMap((s) => s.values).filter((v): v is number => v !== undefined && v > 0);
  let lo = all.length ? Math.min(...all) : 1, hi = all.length ? Math.max(...all) : 10;
  if (p.log) {
    lo = 10 ** Math.floor(Math.log10(lo));
    hi = 10 ** Math.ceil(Math.log10(hi));
  } else {
    lo = 0;
    hi = hi * 1.1;
  }
  const y = (v: number) => {
    const f = p.log ? (Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo)) : (v - lo) / (hi - lo);
    return m.t + (1 - f) * (H - m.t - m.b);
  };
  const n = p.xLabels.length;
  const x = (i: number) => m.l + (n === 1 ? 0.5 : i / (n - 1)) * (W - m.l - m.r - 20) + 10;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  parts.push(`<text x="${W / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${esc(p.title)}</text>`);
  for (const t of ticks(lo, hi, p.log)) {
    parts.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${y(t)}" y2="${y(t)}" stroke="#ddd"/>`);
    parts.push(`<text x="${m.l - 6}" y="${y(t) + 4}" text-anchor="end">${fmt(t)}</text>`);
  }
  parts.push(`<line x1="${m.l}" x2="${m.l}" y1="${m.t}" y2="${H - m.b}" stroke="#333"/>`);
  parts.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${H - m.b}" y2="${H - m.b}" stroke="#333"/>`);
  p.xLabels.forEach((l, i) => parts.push(`<text x="${x(i)}" y="${H - m.b + 16}" text-anchor="middle">${esc(l)}</text>`));
  parts.push(`<text x="${(m.l + W - m.r) / 2}" y="${H - m.b + 34}" text-anchor="middle">${esc(p.xTitle)}</text>`);
  parts.push(`<text transform="translate(14 ${(m.t + H - m.b) / 2}) rotate(-90)" text-anchor="middle">${esc(p.yTitle)}</text>`);
  for (const s of p.series) {
    const pts = s.values.map((v, i) => (v !== undefined && v > 0 ? `${x(i).toFixed(1)},${y(v).toFixed(1)}` : undefined));
    // Break the line where a value is missing rather than bridging the gap.
    let run: string[] = [];
    const flush = () => {
      if (run.length > 1) parts.push(`<polyline points="${run.join(' ')}" fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
      run = [];
    };
    pts.forEach((pt) => (pt ? run.push(pt) : flush()));
    flush();
    for (const pt of pts.filter(Boolean) as string[]) {
      const [cx, cy] = pt.split(',');
      parts.push(`<circle cx="${cx}" cy="${cy}" r="3.5" fill="${s.dashed ? '#fff' : s.color}" stroke="${s.color}" stroke-width="1.5"/>`);
    }
    s.marks?.forEach((mk, i) => {
      if (mk && s.values[i] === undefined) parts.push(`<text x="${x(i)}" y="${m.t + 12}" text-anchor="middle" fill="${s.color}" font-size="11">${esc(mk)}</text>`);
    });
  }
  // Legend under the axis title, in one row.
  let lx = m.l;
  for (const s of p.series) {
    const ly = H - 14;
    parts.push(`<line x1="${lx}" x2="${lx + 22}" y1="${ly - 4}" y2="${ly - 4}" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
    parts.push(`<text x="${lx + 26}" y="${ly}">${esc(s.label)}</text>`);
    lx += 34 + 7 * s.label.length;
  }
  parts.push('</svg>');
  return parts.join('\n');
}
