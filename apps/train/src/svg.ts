/** Minimal SVG charts (line and grouped bar) with axes, ticks and a legend; no dependencies. */

export interface Series {
  name: string;
  points: [number, number][];
  color: string;
  dashed?: boolean;
}

export interface Bar {
  name: string;
  color: string;
  value: number;
  /** optional error bar [lo, hi] */
  interval?: [number, number];
}

const W = 560;
const H = 300;
const M = { l: 60, r: 16, t: 44, b: 48 };

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const fmt = (v: number) =>
  Math.abs(v) >= 100 || v === 0 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(1) : v.toPrecision(2);

function ticks(lo: number, hi: number, n = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-12; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

function frame(
  title: string,
  xLabel: string,
  yLabel: string,
  body: string,
  legend: { name: string; color: string }[],
): string {
  const items = legend
    .map(
      (s, i) =>
        `<g transform="translate(${M.l + 8 + i * 150},${M.t - 16})"><rect width="12" height="4" y="-2" fill="${s.color}"/><text x="16" y="4" font-size="11">${esc(s.name)}</text></g>`,
    )
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(title)}" font-family="sans-serif">
<text x="${W / 2}" y="14" text-anchor="middle" font-size="13" font-weight="bold">${esc(title)}</text>${items}
<text x="${(M.l + W - M.r) / 2}" y="${H - 8}" text-anchor="middle" font-size="11">${esc(xLabel)}</text>
<text transform="translate(14,${(M.t + H - M.b) / 2}) rotate(-90)" text-anchor="middle" font-size="11">${esc(yLabel)}</text>
${body}</svg>`;
}

function axes(
  y0: number,
  y1: number,
  xs: (v: number) => number,
  ys: (v: number) => number,
  xTicks: number[] | null,
  yLabel: (v: number) => string = fmt,
): string {
  let s = `<line x1="${M.l}" y1="${H - M.b}" x2="${W - M.r}" y2="${H - M.b}" stroke="#333"/><line x1="${M.l}" y1="${M.t}" x2="${M.l}" y2="${H - M.b}" stroke="#333"/>`;
  for (const v of ticks(y0, y1))
    s += `<line x1="${M.l}" x2="${W - M.r}" y1="${ys(v)}" y2="${ys(v)}" stroke="#eee"/><text x="${M.l - 6}" y="${ys(v) + 4}" text-anchor="end" font-size="10">${yLabel(v)}</text>`;
  if (xTicks)
    for (const v of xTicks)
      s += `<text x="${xs(v)}" y="${H - M.b + 14}" text-anchor="middle" font-size="10">${fmt(v)}</text>`;
  return s;
}

export function lineChart(
  title: string,
  xLabel: string,
  yLabel: string,
  series: Series[],
  opts: { logY?: boolean } = {},
): string {
  const all = series.flatMap((s) => s.points).filter(([, y]) => Number.isFinite(y) && (!opts.logY || y > 0));
  if (all.length === 0)
    return frame(
      title,
      xLabel,
      yLabel,
      `<text x="${W / 2}" y="${H / 2}" text-anchor="middle" font-size="12">no data</text>`,
      [],
    );
  const tf = (y: number) => (opts.logY ? Math.log10(y) : y);
  const xsv = all.map(([x]) => x);
  const ysv = all.map(([, y]) => tf(y));
  let [x0, x1] = [Math.min(...xsv), Math.max(...xsv)];
  let [y0, y1] = [Math.min(...ysv), Math.max(...ysv)];
  if (x1 === x0) x1 = x0 + 1;
  if (y1 === y0) [y0, y1] = [y0 - 0.5, y1 + 0.5];
  if (!opts.logY && y0 > 0 && y0 < 0.3 * y1) y0 = 0;
  const xs = (v: number) => M.l + ((v - x0) / (x1 - x0)) * (W - M.l - M.r);
  const ys = (v: number) => H - M.b - ((v - y0) / (y1 - y0)) * (H - M.t - M.b);
  let body = axes(y0, y1, xs, ys, ticks(x0, x1), opts.logY ? (v) => fmt(10 ** v) : fmt);
  if (opts.logY)
    body += `<text x="${W - M.r - 4}" y="${M.t + 10}" text-anchor="end" font-size="10" fill="#666">log scale</text>`;
  for (const s of series) {
    const pts = s.points.filter(([, y]) => Number.isFinite(y) && (!opts.logY || y > 0));
    if (!pts.length) continue;
    const d = pts.map(([x, y], i) => `${i ? 'L' : 'M'}${xs(x).toFixed(1)},${ys(tf(y)).toFixed(1)}`).join('');
    body += `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="1.6"${s.dashed ? ' stroke-dasharray="5 3"' : ''}/>`;
    if (pts.length < 40)
      for (const [x, y] of pts)
        body += `<circle cx="${xs(x).toFixed(1)}" cy="${ys(tf(y)).toFixed(1)}" r="2.5" fill="${s.color}"/>`;
  }
  return frame(title, xLabel, yLabel, body, series);
}

export function barChart(
  title: string,
  yLabel: string,
  groups: { label: string; bars: Bar[] }[],
  opts: { max?: number; minTop?: number } = {},
): string {
  const legend = groups[0]?.bars.map((b) => ({ name: b.name, color: b.color })) ?? [];
  const vals = groups.flatMap((g) => g.bars.flatMap((b) => [b.value, ...(b.interval ?? [])]));
  const y1 = opts.max ?? Math.max(opts.minTop ?? 1e-9, ...vals) * 1.1;
  const ys = (v: number) => H - M.b - (v / y1) * (H - M.t - M.b);
  let body = axes(0, y1, (v) => v, ys, null);
  const gw = (W - M.l - M.r) / Math.max(1, groups.length);
  groups.forEach((g, gi) => {
    const n = g.bars.length;
    const bw = Math.min(40, (gw * 0.8) / Math.max(1, n));
    const gx = M.l + gi * gw + (gw - bw * n) / 2;
    g.bars.forEach((b, bi) => {
      const x = gx + bi * bw;
      body += `<rect x="${x.toFixed(1)}" y="${ys(b.value).toFixed(1)}" width="${(bw - 2).toFixed(1)}" height="${(H - M.b - ys(b.value)).toFixed(1)}" fill="${b.color}"><title>${esc(`${g.label} · ${b.name}: ${fmt(b.value)}`)}</title></rect>`;
      if (b.interval) {
        const cx = x + (bw - 2) / 2;
        body += `<line x1="${cx}" x2="${cx}" y1="${ys(b.interval[0])}" y2="${ys(b.interval[1])}" stroke="#222"/>`;
      }
    });
    body += `<text x="${(M.l + gi * gw + gw / 2).toFixed(1)}" y="${H - M.b + 14}" text-anchor="middle" font-size="10">${esc(g.label)}</text>`;
  });
  return frame(title, '', yLabel, body, legend);
}
