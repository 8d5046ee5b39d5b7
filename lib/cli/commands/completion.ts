/**
 * `pivot completion bash|zsh|fish`: the shell completion script, and the
 * hidden `pivot __complete stages` it calls for stage names.
 *
 * @module
 */

import { PivotError } from "../../errors.ts";
import { findPipelineFile, findProject } from "../../pipeline/find_project.ts";
import type { Command } from "../command.ts";
import { completionScript, type Shell, SHELLS } from "../completion.ts";
import { rememberedStageNames } from "../stage_names.ts";

/**
 * The `completion` command (it lists the commands it completes, so it takes
 * them: `commands` loads every command's module, for their options).
 */
export function completionCommand(commands: () => Promise<readonly Command[]>): Command {
  return {
    name: "completion",
    summary: "Print the shell completion script for bash, zsh or fish.",
    usage: `completion ${SHELLS.join("|")} [options]`,
    options: {},
    async run({ positionals }, env) {
      const [shell] = positionals;
      if (!SHELLS.includes(shell as Shell) || positionals.length !== 1) {
        throw new PivotError(
          `completion: ${
            shell === undefined ? "missing shell" : `unknown shell '${positionals.join(" ")}'`
          }: use 'pivot completion ${SHELLS.join("|")}' (e.g. source <(pivot completion bash))`,
        );
      }
      env.output.raw(completionScript(shell as Shell, await commands()));
      return 0;
    },
  };
}

/**
 * `pivot __complete stages`: the stage names of the project here, one per
 * line, for completion scripts. From the cache that commands loading the
 * pipeline keep; when it is missing or stale, from `pivot list --json` in a
 * child process (which loads the pipeline, refreshing the cache). Prints
 * nothing outside a project or on any error: Tab must never show an error.
 */
export const complete: Command = {
  name: "__complete",
  summary: "Completion candidates for the shell scripts (internal).",
  usage: "__complete stages",
  options: {},
  hidden: true,
  async run({ positionals }, env) {
    if (positionals[0] !== "stages") return 0;
    let names: readonly string[] | undefined;
    try {
      const project = findProject(env.cwd);
      const pipelineFile = findPipelineFile(project, env.cwd);
      names = rememberedStageNames(project, pipelineFile) ?? await listStages(env.cwd);
    } catch {
      return 0;
    }
    for (const name of names) env.output.line(name);
    return 0;
  },
};

/** Stage names from `pivot list --json` run in a child process, as the user would run it. */
async function listStages(cwd: string): Promise<string[]> {
  // The launcher of that process finds the user's deno.json and relaunches as needed.
  const self = Deno.build.standalone
    ? [Deno.execPath()]
    : [Deno.execPath(), "run", "-A", Deno.mainModule];
  const output = await new Deno.Command(self[0], {
    args: [...self.slice(1), "list", "--json"],
    cwd,
    env: { PIVOT_CHILD: "" },
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).output();
  if (!output.success) return [];
  const listed = JSON.parse(new TextDecoder().decode(output.stdout)) as {
    stages: { name: string }[];
  };
  return listed.stages.map((stage) => stage.name);
}
