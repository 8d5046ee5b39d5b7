/** Where a failed stage's error comes from, as the user sees it. */

import { userLocation, userStack } from "../../lib/engine/failure.ts";
import { PIVOT_ROOT } from "../../lib/own_code.ts";
import { toFileUrl } from "../../lib/paths.ts";
import { assertEquals } from "../_assert.ts";
import { test } from "../_harness.ts";

const ROOT = "/work/project";
const PIVOT = toFileUrl(PIVOT_ROOT);

const STACK = [
  "TypeError: Cannot read properties of undefined (reading 'values')",
  "    at parse (file:///root/.cache/deno/npm/registry.npmjs.org/yaml/2.9.1/dist/index.js:10:5)",
  "    at file:///work/project/node_modules/.deno/lib/index.js:3:1",
  "    at firstWidth (file:///work/project/lib/model.ts:9:16)",
  "    at Object.run (file:///work/project/pipeline.ts:12:46)",
  "    at async Promise.all (index 0)",
  `    at phase (${PIVOT}/lib/worker/worker_main.ts:223:18)`,
  "    at eventLoopTick (ext:core/01_core.js:179:7)",
].join("\n");

test("the location is the first frame in the user's own files, relative to the project", () => {
  assertEquals(userLocation(STACK, ROOT), "lib/model.ts:9:16");
});

test("a user's module outside the project is shown by its path", () => {
  const stack = "Error: x\n    at f (file:///work/shared/helpers.ts:4:2)";
  assertEquals(userLocation(stack, ROOT), "/work/shared/helpers.ts:4:2");
});

test("no location when only Pivot, packages or Deno are on the stack", () => {
  const stack = [
    "Error: x",
    `    at save (${PIVOT}/lib/api/loaders.ts:120:3)`,
    "    at https://jsr.io/@std/csv/1.0.0/parse.ts:8:1",
    "    at ext:core/01_core.js:179:7",
  ].join("\n");
  assertEquals(userLocation(stack, ROOT), undefined);
  assertEquals(userLocation(undefined, ROOT), undefined);
});

test("the -v stack keeps the message, the user's and packages' frames, as paths", () => {
  assertEquals(
    userStack(STACK, ROOT),
    [
      "TypeError: Cannot read properties of undefined (reading 'values')",
      "    at parse (/root/.cache/deno/npm/registry.npmjs.org/yaml/2.9.1/dist/index.js:10:5)",
      "    at node_modules/.deno/lib/index.js:3:1",
      "    at firstWidth (lib/model.ts:9:16)",
      "    at Object.run (pipeline.ts:12:46)",
      "    at async Promise.all (index 0)",
    ].join("\n"),
  );
});

test("no -v stack when nothing but Pivot and Deno is on it", () => {
  const stack = `Error: x\n    at phase (${PIVOT}/lib/worker/worker_main.ts:1:1)`;
  assertEquals(userStack(stack, ROOT), undefined);
  assertEquals(userStack("Error: no frames", ROOT), undefined);
});
