/** The examples run as written, through the real CLI. */

import { join } from "node:path";
import { assertEquals } from "../_assert.ts";
import { test } from "../_harness.ts";
import { REPO, TempProject } from "../_project.ts";

test("examples/matrix: a pivot.yaml with a matrix runs, then finds nothing to run", async () => {
  const dir = join(REPO, "examples/matrix");
  const files: Record<string, string> = {};
  for (const name of ["pivot.yaml", "stages.ts", "data/points.csv"]) {
    files[name] = await Deno.readTextFile(join(dir, name));
  }
  const project = await TempProject.create(files);
  try {
    const first = await project.events("repro");
    assertEquals(first.result.code, 0, first.result.stderr);
    assertEquals(TempProject.byStatus(first.events), {
      ran: ["fit@large_a", "fit@large_b", "fit@small_a", "fit@small_b", "split"],
    });
    assertEquals(JSON.parse(await project.read("build/model_large_b.json")).degree, 3);
    const second = await project.events("repro");
    assertEquals(Object.keys(TempProject.byStatus(second.events)), ["skipped"]);
  } finally {
    await project.dispose();
  }
});
