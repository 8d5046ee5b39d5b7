/**
 * The public surface of `jsr:@pivot/core`: what users can reach, and nothing
 * of Pivot's internals.
 */
import * as core from "../../mod.ts";
import { assertEquals } from "../_assert.ts";
import { test } from "../_harness.ts";

test("mod.ts exports the API's functions and classes, and nothing else at run time", () => {
  assertEquals(Object.keys(core).sort(), [
    "Pipeline",
    "PipelineDefinitionError",
    "defineStage",
    "dep",
    "incremental",
    "loaders",
    "metric",
    "out",
    "plot",
  ]);
});

test("loaders holds the built-in loaders only, not the keys that tell them apart", () => {
  assertEquals(Object.keys(core.loaders).sort(), [
    "bytes",
    "csv",
    "files",
    "json",
    "jsonl",
    "pathOnly",
    "text",
    "yaml",
  ]);
});
