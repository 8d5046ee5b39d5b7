import { join } from "node:path";
import { PivotError } from "../../lib/errors.ts";
import { pipelineFileIn } from "../../lib/pipeline/find_project.ts";
import { assertEquals, assertThrows } from "../_assert.ts";
import { test } from "../_harness.ts";
import { tempDir } from "../_project.ts";

test("pipelineFileIn finds pivot.yml and reports none as undefined", async () => {
  await using dir = await tempDir();
  assertEquals(pipelineFileIn(dir.root), undefined);
  await Deno.writeTextFile(join(dir.root, "pivot.yml"), "stages: {}\n");
  assertEquals(pipelineFileIn(dir.root), join(dir.root, "pivot.yml"));
});

test("pipelineFileIn refuses a directory with both pivot.yaml and pivot.yml", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(join(dir.root, "pivot.yml"), "stages: {}\n");
  await Deno.writeTextFile(join(dir.root, "pivot.yaml"), "stages: {}\n");
  const error = assertThrows(() => pipelineFileIn(dir.root), PivotError);
  assertEquals(error.message, `${dir.root} holds both pivot.yaml and pivot.yml: keep one`);
});

test("pipelineFileIn refuses a directory with both pivot.yaml and pipeline.ts", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(join(dir.root, "pivot.yaml"), "stages: {}\n");
  await Deno.writeTextFile(join(dir.root, "pipeline.ts"), "");
  const error = assertThrows(() => pipelineFileIn(dir.root), PivotError);
  assertEquals(
    error.message,
    `${dir.root} holds both pivot.yaml and pipeline.ts: keep one pipeline definition per directory`,
  );
});
