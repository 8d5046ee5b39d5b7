/**
 * The public surface of `jsr:@pivot/core`: what users can reach, and nothing
 * of Pivot's internals.
 */
import assert from "node:assert/strict";
import * as core from "../../mod.ts";

Deno.test("mod.ts exports the API's functions and classes, and nothing else at run time", () => {
  assert.deepEqual(Object.keys(core).sort(), [
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

Deno.test("loaders holds the built-in loaders only, not the keys that tell them apart", () => {
  assert.deepEqual(Object.keys(core.loaders).sort(), [
    "bytes",
    "csv",
    "json",
    "jsonl",
    "pathOnly",
    "text",
    "yaml",
  ]);
});
