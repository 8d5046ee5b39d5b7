/**
 * Markdown for `bench/RESULTS.md`: tables, figures with their spread, and
 * ratios.
 *
 * @module
 */

import { measured, type Measurement, type Stats } from "./_measure.ts";

/** A part of the report: a heading and its Markdown body. */
export interface Section {
  /** Heading text (without `##`). */
  title: string;
  /** Markdown under the heading. */
  body: string;
}

/** A Markdown table; cells may not contain newlines. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) =>
    `| ${cells.map((c) => c.replaceAll("|", "\\|")).join(" | ")} |`;
  return [line(headers), line(headers.map(() => "---")), ...rows.map(line)].join("\n");
}

/** Milliseconds as seconds with three significant digits at least to the millisecond. */
export function seconds(ms: number): string {
  const s = ms / 1000;
  if (s >= 100) return `${s.toFixed(0)} s`;
  if (s >= 10) return `${s.toFixed(1)} s`;
  if (s >= 1) return `${s.toFixed(2)} s`;
  return `${s.toFixed(3)} s`;
}

/** Milliseconds as milliseconds, for per-stage figures. */
export function millis(ms: number): string {
  return ms >= 100
    ? `${ms.toFixed(0)} ms`
    : ms >= 10
    ? `${ms.toFixed(1)} ms`
    : `${ms.toFixed(2)} ms`;
}

/** KiB as MiB. */
export function mebibytes(kib: number): string {
  return `${(kib / 1024).toFixed(0)} MiB`;
}

/** `median [min–max, n=N]` in the given unit. */
export function spread(s: Stats, unit: (value: number) => string): string {
  if (s.n === 1) return `${unit(s.median)} [n=1]`;
  return `${unit(s.median)} [${unit(s.min).replace(/ .*/, "")}–${unit(s.max)}, n=${s.n}]`;
}

/** The wall-time cell of a measurement, or why it has none. */
export function wallCell(m: Measurement | undefined): string {
  if (m === undefined) return "—";
  if (!measured(m)) return missingText(m);
  return spread(m.wall, seconds) + (m.note ? ` (${m.note})` : "");
}

/** The CPU-time (user + system) cell of a measurement, or why it has none. */
export function cpuCell(m: Measurement | undefined): string {
  if (m === undefined) return "—";
  if (!measured(m)) return missingText(m);
  return m.cpu ? spread(m.cpu, seconds) : "no GNU time";
}

/** Ratio of two CPU-time medians as `0.42×`, or a dash when either is missing. */
export function cpuRatio(a: Measurement | undefined, b: Measurement | undefined): string {
  if (!measured(a) || !measured(b) || !a.cpu || !b.cpu || b.cpu.median === 0) return "—";
  return times(a.cpu.median / b.cpu.median);
}

/** The peak-memory cell of a measurement, or why it has none. */
export function rssCell(m: Measurement | undefined): string {
  if (m === undefined) return "—";
  if (!measured(m)) return missingText(m);
  return m.rss ? spread(m.rss, mebibytes) : "no GNU time";
}

/** "pending (…)", "failed: …" or "skipped (…)". */
export function missingText(m: Exclude<Measurement, { wall: Stats }>): string {
  if ("pending" in m) return `pending (${m.pending})`;
  if ("failed" in m) return `failed: ${m.failed}`;
  return `skipped (${m.skipped})`;
}

/** Ratio of two medians as `0.42×`, or a dash when either is missing. */
export function ratio(a: Measurement | undefined, b: Measurement | undefined): string {
  if (!measured(a) || !measured(b)) return a && !measured(a) && "pending" in a ? "pending" : "—";
  return times(a.wall.median / b.wall.median);
}

/** A factor as `0.42×` (two significant digits below 10). */
export function times(factor: number): string {
  if (!Number.isFinite(factor)) return "—";
  return factor >= 10 ? `${factor.toFixed(0)}×` : `${factor.toPrecision(2)}×`;
}
