/**
 * `pivot list`: the stages, optionally with their deps and outs.
 *
 * @module
 */

import { type Command, noPositionals } from "../command.ts";
import { listJson } from "../explain.ts";
import { withSession } from "../session.ts";

/** The `list` command. */
export const list: Command = {
  name: "list",
  summary: "List the stages, in pipeline order.",
  usage: "list [options]",
  options: {
    deps: { type: "boolean", help: "show each stage's deps and outs" },
    json: { type: "boolean", help: "JSON on stdout (SPEC §6 shape)" },
  },
  async run({ values, positionals }, env) {
    noPositionals("list", positionals);
    return await withSession(env, (session) => {
      const stages = session.context.graph.order;
      if (values.json) {
        env.output.line(JSON.stringify(listJson(stages), null, 2));
        return 0;
      }
      for (const stage of stages) {
        env.output.line(env.output.paint("bold", stage.name));
        if (!values.deps) continue;
        for (const dep of stage.deps) env.output.line(`  dep  ${dep.path}${dep.isDir ? "/" : ""}`);
        for (const out of stage.outs) {
          const kind = out.kind === "out" ? "" : ` (${out.kind})`;
          env.output.line(`  out  ${out.path}${out.isDir ? "/" : ""}${kind}`);
        }
      }
      return 0;
    }, { loadCache: "always" as const });
  },
};
