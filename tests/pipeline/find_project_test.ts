import { join } from "node:path";
import { PivotError } from "../../lib/errors.ts";
import { pipelineFileIn } from "../../lib/pipeline/find_project.ts";
import { assert, assertEquals, assertRejects } from "../_assert.ts";
import { tempDir } from "../_helpers.ts";

Deno.test("pipelineFileIn finds pivot.yml and reports none as undefined", async () => {
  await using dir = await tempDir();
  assertEquals(pipelineFileIn(dir.path), undefined);
  await Deno.writeTextFile(join(dir.path, "pivot.yml"), "stages: {}\n");
  assertEquals(pipelineFileIn(dir.path), join(dir.path, "pivot.yml"));
});

Deno.test("pipelineFileIn refuses a directory with both pivot.yaml and pivot.yml", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(join(dir.path, "pivot.yml"), "stages: {}\n");
  await Deno.writeTextFile(join(dir.path, "pivot.yaml"), "stages: {}\n");
  const error = await assertRejects(() => pipelineFileIn(dir.path));
  assert(error instanceof PivotError);
  assertEquals(error.message, `${dir.path} holds both pivot.yaml and pivot.yml: keep one`);
});

Deno.test("pipelineFileIn refuses a directory with both pivot.yaml and pipeline.ts", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(join(dir.path, "pivot.yaml"), "stages: {}\n");
  await Deno.writeTextFile(join(dir.path, "pipeline.ts"), "");
  const error = await assertRejects(() => pipelineFileIn(dir.path));
  assertEquals(
    error.message,
    `${dir.path} holds both pivot.yaml and pipeline.ts: keep one pipeline definition per directory`,
  );
});
