/**
 * Plots in a browser: the data each front end sends to the page
 * ({@link ClientPlot}), the browser code that draws it
 * ({@link PLOT_CLIENT_SCRIPT}), and the self-contained HTML page of `pivot
 * plots show|diff` ({@link plotsPage}). The web UI serves the same script
 * and sends the same data, so a plot looks the same in both.
 *
 * @module
 */

import type { PlotTemplate } from "../model/stage_def.ts";
import { plotLibsScript } from "./plot_libs.ts";
import type { VegaLiteSpec } from "./plot_spec.ts";
import type { RenderedPlot } from "./plots.ts";

/** One plot as the browser code draws it. */
export type ClientPlot = ClientChart | ClientImages | ClientFrames;

interface ClientPlotBase {
  /** The plot file's project-relative path (`data-plot` of its section). */
  readonly path: string;
  /** Its heading. */
  readonly title: string;
  /** The revisions shown, oldest first. */
  readonly revisions: readonly string[];
}

/** A chart: a Vega-Lite spec with its data inline. */
export interface ClientChart extends ClientPlotBase {
  /** Brand. */
  readonly kind: "chart";
  /** The template it was drawn with (`data-template`). */
  readonly template: PlotTemplate;
  /** The spec. */
  readonly spec: VegaLiteSpec;
}

/** An image plot: one image per revision, side by side. */
export interface ClientImages extends ClientPlotBase {
  /** Brand. */
  readonly kind: "image";
  /** Each revision's image: a `data:` URL in a page, a server URL in the web UI. */
  readonly images: readonly { readonly rev: string; readonly src: string }[];
}

/** An HTML plot: one sandboxed frame per revision. */
export interface ClientFrames extends ClientPlotBase {
  /** Brand. */
  readonly kind: "html";
  /** Each revision's page: inline (`srcdoc`) in a page, a server URL (`src`) in the web UI. */
  readonly frames: readonly {
    readonly rev: string;
    readonly srcdoc?: string;
    readonly src?: string;
  }[];
}

/**
 * Browser code (a classic script) defining
 * `pivotRenderPlots(container, plots)`: it appends one
 * `<section class="pivot-plot" data-plot="<path>" data-kind="chart|image|html">`
 * per {@link ClientPlot} to `container`, draws charts with `vegaEmbed` (as
 * SVG), and resolves when all are drawn, setting `data-rendered="true"` on
 * each section (or `data-error` with the message) and `data-ready="true"`
 * on the container. Needs the globals of {@link plotLibsScript}.
 */
export const PLOT_CLIENT_SCRIPT = `(() => {
  "use strict";
  const element = (tag, className, text) => {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  };
  const figure = (plot, rev, content) => {
    const node = element("figure", "pivot-figure");
    node.dataset.rev = rev;
    node.append(content);
    if (plot.revisions.length > 1) node.append(element("figcaption", "", rev));
    return node;
  };
  const draw = async (section, plot) => {
    if (plot.kind === "chart") {
      const target = element("div", "pivot-chart");
      section.append(target);
      await vegaEmbed(target, plot.spec, {
        renderer: "svg",
        actions: { export: true, source: false, compiled: false, editor: false },
      });
    } else if (plot.kind === "image") {
      const row = element("div", "pivot-row");
      section.append(row);
      await Promise.all(plot.images.map(async (image) => {
        const img = element("img");
        img.alt = plot.path + " at " + image.rev;
        img.src = image.src;
        row.append(figure(plot, image.rev, img));
        await img.decode().catch(() => {
          throw new Error("the image at " + image.rev + " cannot be shown");
        });
      }));
    } else if (plot.kind === "html") {
      const row = element("div", "pivot-row");
      section.append(row);
      for (const frame of plot.frames) {
        const iframe = element("iframe");
        iframe.title = plot.path + " at " + frame.rev;
        iframe.setAttribute("sandbox", "allow-scripts");
        if (frame.srcdoc !== undefined) iframe.srcdoc = frame.srcdoc;
        else iframe.src = frame.src;
        row.append(figure(plot, frame.rev, iframe));
      }
    } else {
      throw new Error("unknown plot kind " + plot.kind);
    }
  };
  const render = async (container, plot) => {
    const section = element("section", "pivot-plot");
    section.dataset.plot = plot.path;
    section.dataset.kind = plot.kind;
    if (plot.template) section.dataset.template = plot.template;
    section.append(element("h2", "", plot.title));
    container.append(section);
    try {
      await draw(section, plot);
      section.dataset.rendered = "true";
    } catch (error) {
      const message = String((error && error.message) || error);
      section.dataset.error = message;
      section.append(element("p", "pivot-error", "This plot could not be drawn: " + message));
    }
  };
  globalThis.pivotRenderPlots = async (container, plots) => {
    await Promise.all(plots.map((plot) => render(container, plot)));
    container.dataset.ready = "true";
  };
})();
`;

/** Styles of the plot sections (the web UI may reuse them). */
const PLOT_STYLES = `
.pivot-plot { margin: 0 0 2.5rem; }
.pivot-plot h2 { font-size: 1rem; font-weight: 600; margin: 0 0 0.5rem; }
.pivot-row { display: flex; flex-wrap: wrap; gap: 1rem; align-items: flex-start; }
.pivot-figure { margin: 0; }
.pivot-figure img { max-width: 100%; border: 1px solid #ddd; }
.pivot-figure iframe { width: 640px; height: 420px; border: 1px solid #ddd; }
.pivot-figure figcaption { font-size: 0.85rem; color: #555; text-align: center; }
.pivot-error { color: #b00020; }
`;

/** Options of {@link plotsPage}. */
export interface PlotsPageOptions {
  /** The page's title and heading. */
  readonly title: string;
  /** A line under the heading (which revisions are compared, say). */
  readonly subtitle?: string;
}

/**
 * Everything a page may load: inline scripts and styles, `data:` images,
 * nothing from the network, also inside HTML plots' frames (which inherit
 * it). Vega compiles its expressions with `Function`, hence `unsafe-eval`.
 */
const CONTENT_POLICY = [
  "default-src 'none'",
  "script-src 'unsafe-inline' 'unsafe-eval'",
  "style-src 'unsafe-inline'",
  "img-src data: blob:",
  "font-src data:",
  "frame-src data: about:",
].join("; ");

/**
 * One self-contained HTML page showing `plots`: the chart libraries,
 * {@link PLOT_CLIENT_SCRIPT}, the data and images are all inline, and a
 * Content-Security-Policy forbids any other load, so the page renders the
 * same with no network. Reads the image and HTML plot files.
 *
 * @example
 * ```ts
 * const html = await plotsPage(plots, { title: "Plots", subtitle: "workspace" });
 * await Deno.writeTextFile("pivot_plots/index.html", html);
 * ```
 */
export async function plotsPage(
  plots: readonly RenderedPlot[],
  options: PlotsPageOptions,
): Promise<string> {
  const client = await Promise.all(plots.map(inlineClientPlot));
  const subtitle = options.subtitle === undefined
    ? ""
    : `<p class="pivot-subtitle">${escapeHtml(options.subtitle)}</p>`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${CONTENT_POLICY}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="pivot">
<title>${escapeHtml(options.title)}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; }
header h1 { font-size: 1.4rem; margin: 0; }
.pivot-subtitle { color: #555; margin: 0.25rem 0 2rem; }
${PLOT_STYLES}</style>
</head>
<body>
<header><h1>${escapeHtml(options.title)}</h1>${subtitle}</header>
<main id="pivot-plots"></main>
<script>${await plotLibsScript()}</script>
<script>${PLOT_CLIENT_SCRIPT}</script>
<script type="application/json" id="pivot-plots-data">${scriptJson(client)}</script>
<script>
pivotRenderPlots(
  document.getElementById("pivot-plots"),
  JSON.parse(document.getElementById("pivot-plots-data").textContent),
);
</script>
</body>
</html>
`;
}

/** A plot as the page's browser code draws it, its files read and inlined. */
async function inlineClientPlot(plot: RenderedPlot): Promise<ClientPlot> {
  const base = { path: plot.path, title: plot.title, revisions: plot.revisions };
  switch (plot.kind) {
    case "chart":
      return { ...base, kind: "chart", template: plot.chart.template, spec: plot.chart.spec };
    case "image":
      return {
        ...base,
        kind: "image",
        images: await Promise.all(plot.images.map(async (image) => ({
          rev: image.rev,
          src: `data:${image.type};base64,${toBase64(await Deno.readFile(image.file))}`,
        }))),
      };
    case "html":
      return {
        ...base,
        kind: "html",
        frames: await Promise.all(plot.pages.map(async (page) => ({
          rev: page.rev,
          srcdoc: await Deno.readTextFile(page.file),
        }))),
      };
  }
}

/** JSON safe inside a `<script>` element: `<` is escaped, so no `</script>` can end it. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replaceAll("<", "\\u003c");
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

function toBase64(bytes: Uint8Array): string {
  let binary = "";
  // In chunks: String.fromCharCode takes its arguments on the stack.
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}
