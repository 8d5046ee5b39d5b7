/**
 * `--baseline REF`: Pivot at another git revision, extracted with
 * `git archive` into `bench/work/baseline-<commit>/` (no worktree, nothing
 * changed in the repository), and timed in alternation with this checkout's
 * Pivot, so that "before" and "after" share the machine's load.
 *
 * @module
 */

import { mustRun, pivotTool, REPO, type Tool } from "./_tools.ts";
import { progress } from "./_measure.ts";

/** Extract the revision `ref` (once) and return it as a tool named "Pivot baseline". */
export async function baselineTool(ref: string, workDir: string): Promise<Tool> {
  const commit = (await mustRun(["git", "rev-parse", "--short", `${ref}^{commit}`], REPO)).trim();
  const root = `${workDir}/baseline-${commit}`;
  const ready = await Deno.stat(`${root}/cli.ts`).then(() => true, () => false);
  if (!ready) {
    progress(`baseline: extracting ${ref} (${commit}) into ${root}`);
    await Deno.mkdir(root, { recursive: true });
    await mustRun(["sh", "-c", `git archive ${commit} | tar -x -C '${root}'`], REPO);
  }
  const command = () => [Deno.execPath(), "run", "-A", `${root}/cli.ts`];
  const tool = pivotTool(
    "Pivot baseline",
    command,
    new URL(`file://${root}/mod.ts`),
    () => Promise.resolve(undefined),
  );
  return { ...tool, description: `Pivot at ${ref} (${commit})` };
}
