/**
 * `repro --check` and `core.check: true` type-check the pipeline before
 * anything runs (issue 10, item 20): a run function whose result does not
 * fit its out's loader is a `deno check` error, one line each, exit 2, and
 * nothing is written.
 */

import { TempProject } from "../_project.ts";
import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { test } from "../_harness.ts";

const ILL_TYPED = `import { loaders, out, Pipeline } from "jsr:@pivot/core";
import { weight } from "./lib/weights.ts";

export const pipeline = new Pipeline("typed");

pipeline.stage({
  name: "train",
  outs: { model: out("model.json", loaders.json<{ w: number }>()) },
  run: () => ({ model: { w: weight() } }),
});
`;

/** A helper whose type is wrong for the out: it returns a string. */
const WEIGHTS = `export function weight(): string {
  return "heavy";
}
export const unused: number = "not a number";
`;

/** Typed right: the fixed helper. */
const FIXED = `export function weight(): number {
  return 0.5;
}
`;

test("repro --check reports each type error as file:line:col, exits 2 and runs nothing", {
  timeLimit: 300_000,
}, async () => {
  await using p = await TempProject.create({ "pipeline.ts": ILL_TYPED, "lib/weights.ts": WEIGHTS });
  const result = await p.pivot("repro", "--check");
  assertEquals(result.code, 2, result.stderr);
  const lines = result.stderr.trim().split("\n");
  assertEquals(lines.length, 3, result.stderr);
  assertMatch(
    lines[0],
    /^error: lib\/weights\.ts:4:14: TS2322 Type 'string' is not assignable to type 'number'\.$/,
  );
  assertMatch(
    lines[1],
    /^error: pipeline\.ts:9:26: TS2322 Type 'string' is not assignable to type 'number'\.$/,
  );
  assertMatch(
    lines[2],
    /^error: type check failed: 2 errors \(deno check pipeline\.ts\); nothing was run$/,
  );
  assert(!(await p.exists("model.json")), "nothing ran");
  assert(!(await p.exists(".pivot/stages/train.lock")), "nothing was recorded");

  // Without --check the same pipeline runs (Deno does not check types when it runs code).
  assertEquals((await p.pivot("repro")).code, 0);
});

test("core.check: true in the config checks every repro; a well-typed pipeline runs", {
  timeLimit: 300_000,
}, async () => {
  await using p = await TempProject.create({ "pipeline.ts": ILL_TYPED, "lib/weights.ts": WEIGHTS });
  await p.write(".pivot/config.yaml", "core:\n  check: true\n");
  const result = await p.pivot("repro");
  assertEquals(result.code, 2, result.stderr);
  assertMatch(result.stderr, /TS2322/);
  assert(!(await p.exists("model.json")), "nothing ran");

  await p.write("lib/weights.ts", FIXED);
  const fixed = await p.pivot("repro");
  assertEquals(fixed.code, 0, fixed.stderr);
  assertEquals(JSON.parse(await p.read("model.json")), { w: 0.5 });
});
