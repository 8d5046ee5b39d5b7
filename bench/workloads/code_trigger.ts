/**
 * Checks, on this machine's Snakemake, which code changes its code trigger
 * sees. A two-rule Snakefile is built once; then, one at a time, a helper in
 * an imported module, a helper function in the Snakefile, a module-level
 * constant and finally the rule's own `run:` block are edited, and after each
 * edit `snakemake --dry-run` says what it would re-run, with
 * `--rerun-triggers code` and with the default triggers.
 *
 * @module
 */

import { mustRun, removeAll } from "../_tools.ts";
import { table } from "../_report.ts";

/** What Snakemake said after one edit. */
export interface TriggerObservation {
  /** The edit. */
  change: string;
  /** Rules a `--rerun-triggers code` dry run would run (empty: nothing). */
  codeTrigger: string[];
  /** Rules a dry run with the default triggers would run. */
  defaultTriggers: string[];
}

const SNAKEFILE = `from helpers import add

SCALE = 1

def local_helper(x):
    return x * SCALE

rule all:
    input: 'out/a.txt', 'out/b.txt'

rule a:
    input: 'in.txt'
    output: 'out/a.txt'
    run:
        v = int(open(input[0]).read())
        open(output[0], 'w').write(str(add(v, 1)) + '\\n')

rule b:
    input: 'in.txt'
    output: 'out/b.txt'
    run:
        v = int(open(input[0]).read())
        open(output[0], 'w').write(str(local_helper(v)) + '\\n')
`;

const EDITS: readonly { change: string; file: string; from: string; to: string }[] = [
  {
    change: "helper `add` in imported module helpers.py (called by rule a)",
    file: "helpers.py",
    from: "return a + b",
    to: "return a + b + 100",
  },
  {
    change: "helper function `local_helper` in the Snakefile (called by rule b)",
    file: "Snakefile",
    from: "return x * SCALE",
    to: "return x * SCALE + 7",
  },
  {
    change: "module constant `SCALE` in the Snakefile (read by rule b's helper)",
    file: "Snakefile",
    from: "SCALE = 1",
    to: "SCALE = 3",
  },
  {
    change: "rule a's own `run:` block (control)",
    file: "Snakefile",
    from: "add(v, 1)",
    to: "add(v, 2)",
  },
];

/** Rules a dry run would run, from its "rule NAME:" lines (the `all` target left out). */
async function wouldRun(dir: string, extra: string[]): Promise<string[]> {
  const text = await mustRun(["snakemake", "--cores", "1", "--dry-run", ...extra], dir);
  const rules = [...text.matchAll(/^(?:local)?rule (\w+):/gm)].map((m) => m[1]);
  return [...new Set(rules)].filter((rule) => rule !== "all");
}

/** Run the edits in a fresh directory under `workDir` and report what Snakemake saw. */
export async function observeCodeTrigger(workDir: string): Promise<TriggerObservation[]> {
  const dir = `${workDir}/code_trigger`;
  await removeAll(dir);
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(`${dir}/Snakefile`, SNAKEFILE);
  await Deno.writeTextFile(`${dir}/helpers.py`, "def add(a, b):\n    return a + b\n");
  await Deno.writeTextFile(`${dir}/in.txt`, "5\n");
  await mustRun(["snakemake", "--cores", "1", "--quiet"], dir);
  const observations: TriggerObservation[] = [];
  for (const edit of EDITS) {
    const path = `${dir}/${edit.file}`;
    const text = await Deno.readTextFile(path);
    if (!text.includes(edit.from)) throw new Error(`${path}: '${edit.from}' not found`);
    await Deno.writeTextFile(path, text.replace(edit.from, edit.to));
    observations.push({
      change: edit.change,
      codeTrigger: await wouldRun(dir, ["--rerun-triggers", "code"]),
      defaultTriggers: await wouldRun(dir, []),
    });
  }
  return observations;
}

/** The observations as a Markdown table. */
export function codeTriggerTable(observations: readonly TriggerObservation[]): string {
  const shown = (rules: string[]) => rules.length ? `re-runs ${rules.join(", ")}` : "nothing";
  return table(
    ["Edit (cumulative, in this order)", "`--rerun-triggers code`", "default triggers"],
    observations.map((o) => [o.change, shown(o.codeTrigger), shown(o.defaultTriggers)]),
  );
}
