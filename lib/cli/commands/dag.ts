/**
 * `pivot dag [TARGETS]`: the pipeline graph.
 *
 * @module
 */

import { PivotError } from "../../errors.ts";
import { type DagFormat, renderDag } from "../../graph/render.ts";
import type { Command } from "../command.ts";
import { withSession } from "../session.ts";
import { selectWithUpstream } from "../targets.ts";

/** The `dag` command. */
export const dag: Command = {
  name: "dag",
  summary: "Show the pipeline graph (of TARGETS and their upstream, or all).",
  usage: "dag [TARGETS...] [options]",
  options: {
    stages: { type: "boolean", help: "stages only, without files" },
    dot: { type: "boolean", help: "Graphviz DOT" },
    mermaid: { type: "boolean", help: "Mermaid flowchart" },
    md: { type: "boolean", help: "Mermaid in a Markdown code block" },
  },
  async run({ values, positionals }, env) {
    const formats = (["dot", "mermaid", "md"] as const).filter((f) => values[f]);
    if (formats.length > 1) {
      throw new PivotError(
        `dag: choose one of --dot, --mermaid, --md (got ${
          formats.map((f) => `--${f}`).join(", ")
        })`,
      );
    }
    const format: DagFormat = formats[0] ?? "text";
    return await withSession(env, (session) => {
      const { graph } = session.context;
      const stages = selectWithUpstream(graph, positionals);
      env.output.line(renderDag(graph, stages, { format, stagesOnly: Boolean(values.stages) }));
      return 0;
    });
  },
};
