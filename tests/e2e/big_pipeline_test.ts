/**
 * A big `pipeline.ts` (past `BIG_PIPELINE_BYTES`, which starts the child
 * with V8's eager source positions and a limit on glibc's arenas): it runs,
 * its stages' code is still told apart, a definition error still names its
 * line, and its stages see the user's environment, not the allocator's.
 */

import { ARENA_ENV, BIG_PIPELINE_BYTES } from "../../lib/cli/launcher.ts";
import { runPivot, TempProject } from "../_project.ts";
import { assertEquals, assertMatch } from "../_assert.ts";
import { test } from "../_harness.ts";

/** A comment of `BIG_PIPELINE_BYTES`, on `lines` lines. */
function padding(lines: number): string {
  const width = Math.ceil(BIG_PIPELINE_BYTES / lines);
  return Array.from({ length: lines }, () => `// ${"x".repeat(width)}`).join("\n") + "\n";
}

const PAD_LINES = 100;

function pipeline(stages: string[]): string {
  return `${padding(PAD_LINES)}import { loaders, out, Pipeline } from "jsr:@pivot/core";
export const pipeline = new Pipeline("big");
${stages.join("\n")}
`;
}

const stage = (name: string, text: string) =>
  `pipeline.stage({ name: "${name}", outs: { o: out("${name}.txt", loaders.text()) }, run: () => ({ o: "${text}" }) });`;

test("a big pipeline.ts runs, and an edit re-runs only the stage whose code changed", async () => {
  await using p = await TempProject.create({
    "pipeline.ts": pipeline([stage("a", "one"), stage("b", "two")]),
  });
  const first = await p.pivot("repro");
  assertEquals(first.code, 0, first.stderr);
  assertEquals([await p.read("a.txt"), await p.read("b.txt")], ["one", "two"]);
  await p.write("pipeline.ts", pipeline([stage("a", "one"), stage("b", "three")]));
  const second = await p.pivot("repro");
  assertEquals(second.code, 0, second.stderr);
  assertMatch(second.stdout, /ran\s+b\b/);
  assertEquals(second.stdout.match(/ran\s+a\b/), null, second.stdout);
  assertEquals(await p.read("b.txt"), "three");
});

test("a stage defined twice in a big pipeline.ts is one error naming its line", async () => {
  await using p = await TempProject.create({
    "pipeline.ts": pipeline([stage("a", "one"), stage("a", "two")]),
  });
  const result = await p.pivot("status");
  assertEquals(result.code, 2, result.stderr);
  const lines = result.stderr.trim().split("\n");
  assertEquals(lines.length, 1, result.stderr);
  // The padding, the import and `new Pipeline` come first: the second stage is on line +4.
  assertMatch(
    lines[0],
    new RegExp(`pipeline\\.ts:${PAD_LINES + 4}: stage 'a' is defined twice in pipeline 'big'`),
  );
});

test("a big pipeline's stages see the user's MALLOC_ARENA_MAX, not the one the launcher gives its child", async () => {
  const envStage = `pipeline.stage({
  name: "env",
  outs: { o: out("env.txt", loaders.text()) },
  permissions: { env: ["${ARENA_ENV}", "PIVOT_ALLOCATOR_ENV"] },
  run: () => ({ o: [Deno.env.get("${ARENA_ENV}"), Deno.env.get("PIVOT_ALLOCATOR_ENV")].join(",") }),
});`;
  await using p = await TempProject.create({ "pipeline.ts": pipeline([envStage]) });
  const unset = await p.pivot("repro");
  assertEquals(unset.code, 0, unset.stderr);
  assertEquals(await p.read("env.txt"), ","); // neither is set for the stage
  await Deno.remove(p.path(".pivot"), { recursive: true });
  assertEquals((await p.pivot("init")).code, 0);
  const own = await runPivot(p.path(), ["repro"], { [ARENA_ENV]: "3" });
  assertEquals(own.code, 0, own.stderr);
  assertEquals(await p.read("env.txt"), "3,"); // the user's value, untouched
});
