/**
 * From declared plots to plots ready to render: each plot file is read at
 * every source (the workspace, or revisions through lock files and cache),
 * and becomes a chart (data files, through {@link chartOf}), images, or
 * HTML pages. `pivot plots show|diff` and the web UI both start here.
 *
 * @module
 */

import type { PlotDisplay } from "../model/stage_def.ts";
import type { StageDef } from "../model/stage_def.ts";
import type { Cache } from "../storage/cache.ts";
import {
  lockFilesFor,
  type OutFile,
  outsAt,
  type OutsSource,
  type OutVersion,
  readOutFile,
  sourceLabel,
} from "./outs_at_revision.ts";
import { imageType, parsePlotRows, PLOT_FORMATS, plotFileKind } from "./plot_data.ts";
import { type Chart, chartOf, type RevisionRows } from "./plot_spec.ts";

/** A plot to show: a declared `plot` out, or any file named on the command line. */
export interface PlotTarget {
  /** Project-relative path of the file or directory. */
  readonly path: string;
  /** A directory: each file in it is a plot. */
  readonly isDir: boolean;
  /** The stage that produces it, if any. */
  readonly stage: string | undefined;
  /** How it is drawn. */
  readonly display: PlotDisplay;
  /**
   * For a directory, the files in it to show (project-relative paths or
   * sub-directories); undefined: all.
   */
  readonly only?: readonly string[];
}

/**
 * Every `plot` out of `stages`, in stage order.
 *
 * @example
 * ```ts
 * declaredPlots(graph.order); // [{ path: "roc.csv", isDir: false, stage: "eval", display: { x: "fpr", y: "tpr" } }]
 * ```
 */
export function declaredPlots(stages: readonly StageDef[]): PlotTarget[] {
  return stages.flatMap((stage) =>
    stage.outs.filter((out) => out.kind === "plot").map((out) => ({
      path: out.path,
      isDir: out.isDir,
      stage: stage.name,
      display: out.plot ?? {},
    }))
  );
}

interface RenderedBase {
  /** The plot file's project-relative path. */
  readonly path: string;
  /** Its heading: the `title` option, else the path. */
  readonly title: string;
  /** The stage producing it, if any. */
  readonly stage: string | undefined;
  /** The sources it was found at, oldest first (`HEAD`, `workspace`). */
  readonly revisions: readonly string[];
}

/** A data plot, drawn as a chart. */
export interface ChartPlot extends RenderedBase {
  /** Brand. */
  readonly kind: "chart";
  /** The chart: its data and Vega-Lite spec. */
  readonly chart: Chart;
}

/** An image plot, shown as it is. */
export interface ImagePlot extends RenderedBase {
  /** Brand. */
  readonly kind: "image";
  /** The image at each revision: its media type and the file holding it (checked). */
  readonly images: readonly {
    readonly rev: string;
    readonly type: string;
    readonly file: string;
  }[];
}

/** An HTML plot, shown in a sandboxed frame. */
export interface HtmlPlot extends RenderedBase {
  /** Brand. */
  readonly kind: "html";
  /** The page at each revision and the file holding it (checked). */
  readonly pages: readonly { readonly rev: string; readonly file: string }[];
}

/** A plot ready for a front end. */
export type RenderedPlot = ChartPlot | ImagePlot | HtmlPlot;

/** Options of {@link renderPlots}. */
export interface RenderPlotsOptions {
  /** Project root. */
  readonly root: string;
  /** The project's cache (content at revisions). */
  readonly cache: Cache;
  /**
   * The loaded stages: their lock files, with those of every pipeline of the
   * project at a revision, say where the plots were (see `lockFilesFor`).
   */
  readonly stages: readonly StageDef[];
  /** Where to read plots: one source to show, two (old first) to diff. */
  readonly sources: readonly OutsSource[];
  /** Receives a line per plot (or revision of one) that cannot be shown. */
  readonly warn: (message: string) => void;
}

/**
 * The plots of `targets` at each of `options.sources`, ready to render. A
 * directory target gives one plot per file. A plot missing at a source is
 * drawn from the others (with a warning); a plot found nowhere, or a file of
 * a format Pivot cannot show, is left out (with a warning).
 *
 * @throws {PivotError} for bad plot data or options (a missing column, a
 * file that does not parse), an unknown revision, or a corrupt cache object.
 *
 * @example
 * ```ts
 * const plots = await renderPlots(declaredPlots(graph.order), {
 *   root: project.root,
 *   cache,
 *   stages: graph.order,
 *   sources: [{ kind: "revision", rev: "HEAD" }, WORKSPACE],
 *   warn: console.error,
 * });
 * ```
 */
export async function renderPlots(
  targets: readonly PlotTarget[],
  options: RenderPlotsOptions,
): Promise<RenderedPlot[]> {
  const { root, cache, sources, warn } = options;
  const labels = sources.map(sourceLabel);
  // Only revisions read outs through lock files: no walk of the workspace for them.
  const revisions = sources.filter((source) => source.kind === "revision");
  const lockFiles = await lockFilesFor(root, options.stages, revisions);
  const versionsBySource: Map<string, OutVersion>[] = [];
  for (const source of sources) {
    versionsBySource.push(await outsAt(source, targets, { root, cache, lockFiles }));
  }

  const rendered: RenderedPlot[] = [];
  for (const target of targets) {
    // Each file of the target, with its content at every source that has it.
    const files = new Map<string, { rev: string; file: OutFile }[]>();
    versionsBySource.forEach((versions, index) => {
      const version = versions.get(target.path)!;
      if (!version.found) {
        const at = sources.length > 1 || sources[index].kind !== "workspace"
          ? ` at ${labels[index]}`
          : "";
        warn(`${target.path}${at}: ${version.reason}`);
        return;
      }
      for (const file of version.files) {
        if (target.only && !target.only.some((path) => isSameOrInside(file.path, path))) continue;
        const list = files.get(file.path) ?? [];
        list.push({ rev: labels[index], file });
        files.set(file.path, list);
      }
    });
    for (const [path, versions] of files) {
      const plot = await renderFile(target, path, versions, warn);
      if (plot) rendered.push(plot);
    }
  }
  return rendered;
}

function isSameOrInside(path: string, dir: string): boolean {
  return path === dir || path.startsWith(`${dir}/`);
}

async function renderFile(
  target: PlotTarget,
  path: string,
  versions: readonly { rev: string; file: OutFile }[],
  warn: (message: string) => void,
): Promise<RenderedPlot | undefined> {
  const kind = plotFileKind(path);
  if (kind === undefined) {
    warn(`${path}: not shown: a plot is one of ${PLOT_FORMATS}`);
    return undefined;
  }
  const title = target.display.title === undefined
    ? path
    : target.isDir
    ? `${target.display.title}: ${path.slice(target.path.length + 1)}`
    : target.display.title;
  const base = { path, title, stage: target.stage, revisions: versions.map((v) => v.rev) };
  const label = (rev: string) =>
    versions.length > 1 || rev !== "workspace" ? `${path} at ${rev}` : path;

  if (kind === "data") {
    const revisions: RevisionRows[] = [];
    for (const { rev, file } of versions) {
      const text = new TextDecoder().decode(await readOutFile(file));
      revisions.push({ rev, rows: await parsePlotRows(path, text, label(rev)) });
    }
    // Without a title of its own, the chart is named by the front end's heading (the path).
    const display = target.display.title === undefined
      ? target.display
      : { ...target.display, title };
    const chart = chartOf({ path, display, revisions, warn });
    return chart && { ...base, revisions: chart.revisions, kind: "chart", chart };
  }
  // Images and pages are read by the front end; a cache object is checked once here.
  for (const { file } of versions) if (file.hash !== undefined) await readOutFile(file);
  if (kind === "image") {
    return {
      ...base,
      kind: "image",
      images: versions.map(({ rev, file }) => ({ rev, type: imageType(path), file: file.file })),
    };
  }
  return {
    ...base,
    kind: "html",
    pages: versions.map(({ rev, file }) => ({ rev, file: file.file })),
  };
}

/**
 * `plots` as JSON for `--json`: each chart with its data and Vega-Lite
 * spec, each image or page with the file holding it.
 *
 * @example
 * ```ts
 * console.log(JSON.stringify(plotsJson(plots, ["workspace"]), null, 2));
 * ```
 */
export function plotsJson(plots: readonly RenderedPlot[], revisions: readonly string[]): unknown {
  return {
    revisions,
    plots: plots.map((plot) => {
      const base = { path: plot.path, stage: plot.stage ?? null, revisions: plot.revisions };
      switch (plot.kind) {
        case "chart":
          return {
            ...base,
            kind: "chart",
            template: plot.chart.template,
            x: plot.chart.x,
            y: plot.chart.y,
            data: plot.chart.data,
            spec: plot.chart.spec,
          };
        case "image":
          return { ...base, kind: "image", images: plot.images };
        case "html":
          return { ...base, kind: "html", pages: plot.pages };
      }
    }),
  };
}
