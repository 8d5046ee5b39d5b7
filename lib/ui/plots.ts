/**
 * The UI's plots: the very page `pivot plots show` (or, compared with a
 * revision, `plots diff`) writes — one renderer, two front ends
 * (docs/plots.md). The UI shows it in a sandboxed frame, so the chart
 * libraries, which compile expressions with `Function`, never run in the
 * UI's own page, whose Content-Security-Policy stays strict.
 *
 * The renderer is imported when plots are first asked for, not when the UI
 * starts.
 *
 * @module
 */

import type { EngineContext } from "../engine/context.ts";
import { messageOf, PivotError } from "../errors.ts";
import type { OutsSource } from "../outputs/outs_at_revision.ts";

/** The page of the plots frame, with its HTTP status. */
export interface PlotsFrame {
  /** 200, or 422 when the plots cannot be drawn (bad data, unknown revision). */
  readonly status: number;
  /** The page. */
  readonly html: string;
}

/**
 * The plots of `context`'s pipeline at the workspace, or overlaid on their
 * version at `rev`.
 */
export async function plotsFrame(context: EngineContext, rev?: string): Promise<PlotsFrame> {
  const { declaredPlots, renderPlots } = await import("../outputs/plots.ts");
  const { plotsPage } = await import("../outputs/plot_page.ts");
  const { sourceLabel } = await import("../outputs/outs_at_revision.ts");
  const { graph, project, cache } = context;
  const declared = declaredPlots(graph.order);
  if (declared.length === 0) {
    return notice(
      "No plots",
      "This pipeline declares no plot. Declare one with plot(path, loader, options) in a stage's outs (docs/plots.md).",
    );
  }
  const sources: OutsSource[] = rev === undefined
    ? [{ kind: "workspace" }]
    : [{ kind: "revision", rev }, { kind: "workspace" }];
  const warnings: string[] = [];
  try {
    const rendered = await renderPlots(declared, {
      root: project.root,
      cache,
      stages: graph.order,
      sources,
      warn: (message) => warnings.push(message),
    });
    if (rendered.length === 0) {
      return notice(
        "No plots yet",
        `None of the plots has content yet: run the stages that make them.\n\n${
          warnings.join("\n")
        }`,
      );
    }
    const labels = sources.map(sourceLabel);
    const html = await plotsPage(rendered, {
      title: "Plots",
      subtitle: [labels.length === 1 ? labels[0] : `${labels[0]} vs ${labels[1]}`, ...warnings]
        .join(" · "),
    });
    return { status: 200, html };
  } catch (error) {
    if (!(error instanceof PivotError)) throw error;
    return { ...notice("Plots cannot be drawn", messageOf(error)), status: 422 };
  }
}

function notice(title: string, text: string): PlotsFrame {
  const escape = (value: string) => value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  return {
    status: 200,
    html: `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>${escape(title)}</title>
<style>body { font-family: system-ui, sans-serif; margin: 2rem; color: #555; white-space: pre-wrap; }</style>
</head>
<body><h1 style="font-size: 1.1rem; color: #222">${escape(title)}</h1><p data-notice>${
      escape(text)
    }</p></body>
</html>
`,
  };
}
