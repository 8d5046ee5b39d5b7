/**
 * `pivot init`: make the current directory a Pivot project.
 *
 * @module
 */

import { basename, join } from "node:path";
import { PivotError } from "../../errors.ts";
import { PIVOT_DIR } from "../../model/project.ts";
import { toFileUrl } from "../../paths.ts";
import { findSchema, schemaComment } from "../../schemas/mod.ts";
import { pipelineFileIn } from "../../pipeline/find_project.ts";
import { type Command, noPositionals } from "../command.ts";
import { PIVOT_IS_LOCAL, PIVOT_ROOT } from "../../own_code.ts";

const GITIGNORE = `# Local to this machine; not tracked.
/state/
/cache/
/tmp/
/config.local.yaml
`;

/**
 * The project settings file, every setting commented out at its default.
 * The first line lets editors with a YAML language server validate and
 * complete it (`pivot schema config`).
 */
function configYaml(): string {
  return `${schemaComment(findSchema("config")!)}
# Pivot's project settings, tracked in git; every key is optional.
# Settings for this machine only (credentials, paths) go in config.local.yaml.
#
# cache:
#   dir: .pivot/cache   # relative to the project root
#   type: copy          # how outs are placed: reflink, copy, hardlink or symlink
# core:
#   jobs: 4             # stages at once (default: the number of cores)
`;
}

const EXAMPLE_PIPELINE = `import { dep, loaders, metric, out, Pipeline } from "jsr:@pivot/core";

export const pipeline = new Pipeline("example");

type Row = { name: string; score: string };

pipeline.stage({
  name: "clean",
  deps: { raw: dep("data/scores.csv", loaders.csv<Row>()) },
  outs: { clean: out("build/clean.json", loaders.json<Row[]>()) },
  run: ({ raw }) => ({ clean: raw.filter((row) => row.score !== "") }),
});

pipeline.stage({
  name: "summarize",
  deps: { rows: dep("build/clean.json", loaders.json<Row[]>()) },
  outs: { summary: metric("build/summary.json") },
  params: { top: 2 },
  run: summarize,
});

export function summarize({ rows }: { rows: Row[] }, { params }: { params: { top: number } }) {
  const scores = rows.map((row) => Number(row.score)).sort((a, b) => b - a);
  return { summary: { count: rows.length, best: scores.slice(0, params.top) } };
}
`;

const EXAMPLE_DATA = `name,score
ada,91
grace,
linus,78
margaret,95
`;

async function writeIfAbsent(path: string, text: string): Promise<boolean> {
  try {
    await Deno.writeTextFile(path, text, { createNew: true });
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.AlreadyExists) return false;
    throw error;
  }
}

/**
 * Make `dir` a Pivot project: create `.pivot/` with its `.gitignore` and a
 * commented `config.yaml`. Resolves with false when `.pivot/` was there
 * already (missing files are added).
 */
export async function initProject(dir: string): Promise<boolean> {
  const pivotDir = join(dir, PIVOT_DIR);
  let existed = true;
  try {
    await Deno.stat(pivotDir);
  } catch {
    existed = false;
  }
  await Deno.mkdir(pivotDir, { recursive: true });
  await writeIfAbsent(join(pivotDir, ".gitignore"), GITIGNORE);
  await writeIfAbsent(join(pivotDir, "config.yaml"), configYaml());
  return !existed;
}

/** The `init` command. */
export const init: Command = {
  name: "init",
  summary: "Create .pivot/ here (with --example, also a starter pipeline).",
  usage: "init [options]",
  options: {
    example: { type: "boolean", help: "also write a starter pipeline.ts and its data" },
  },
  async run({ values, positionals }, env) {
    noPositionals("init", positionals);
    // Checked before anything is written: the example never joins another pipeline.
    if (values.example) checkNoOtherPipeline(env.cwd);
    const existed = !(await initProject(env.cwd));
    env.output.line(
      existed
        ? `${PIVOT_DIR}/ already exists in ${env.cwd}`
        : `Initialised ${PIVOT_DIR}/ in ${env.cwd}`,
    );
    if (!values.example) return 0;
    env.output.line(await writeExample(env.cwd));
    return 0;
  },
};

/**
 * Throws a usage error when `dir` has a pipeline file other than the
 * example's `pipeline.ts`: the example would replace it, or sit beside a
 * `pivot.yaml` (an error, SPEC §5).
 */
function checkNoOtherPipeline(dir: string): void {
  const existing = pipelineFileIn(dir);
  if (existing === undefined) return;
  const name = basename(existing);
  if (name === "pipeline.ts" && Deno.readTextFileSync(existing) === EXAMPLE_PIPELINE) return;
  throw new PivotError(
    `init --example: ${dir} already has a pipeline (${name}): the example was not written; ` +
      `try it in an empty directory ('mkdir try && pivot --cwd try init --example')`,
  );
}

/** Write the example's files that are missing in `dir`; returns the line saying what it did. */
async function writeExample(dir: string): Promise<string> {
  await Deno.mkdir(join(dir, "data"), { recursive: true });
  const files: [string, string][] = [
    ["pipeline.ts", EXAMPLE_PIPELINE],
    ["data/scores.csv", EXAMPLE_DATA],
  ];
  // Running from a checkout (not from JSR): map the import to it, so the
  // starter pipeline runs as it is.
  if (PIVOT_IS_LOCAL) {
    const config = { imports: { "jsr:@pivot/core": toFileUrl(join(PIVOT_ROOT, "mod.ts")) } };
    files.push(["deno.json", JSON.stringify(config, null, 2) + "\n"]);
  }
  const written: string[] = [];
  const kept: string[] = [];
  for (const [name, text] of files) {
    (await writeIfAbsent(join(dir, name), text) ? written : kept).push(name);
  }
  if (written.length === 0) {
    return `The example is already here (${kept.join(", ")}): nothing written; run 'pivot repro'`;
  }
  const keptNote = kept.length > 0 ? ` (kept the existing ${kept.join(", ")})` : "";
  return `Wrote ${written.join(", ")}${keptNote}; run 'pivot repro'`;
}
