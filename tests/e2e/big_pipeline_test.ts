/**
 * A big `pipeline.ts` (past `BIG_PIPELINE_BYTES`, which starts the child
 * with V8's eager source positions): it runs, its stages' code is still told
 * apart, and a definition error still names its line.
 */

import { BIG_PIPELINE_BYTES } from "../../lib/cli/launcher.ts";
import { TempProject } from "../_project.ts";
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
