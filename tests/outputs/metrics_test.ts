import { diffMetrics, numericChange, parseMetrics } from "../../lib/outputs/metrics.ts";
import { PivotError } from "../../lib/errors.ts";
import { assertEquals, assertRejects } from "../_assert.ts";
import { test } from "../_harness.ts";

test("metric files of each format flatten to dotted keys", async () => {
  const expected = { acc: 0.9, "train.loss": 0.25, "train.steps": 10, tags: ["a"] };
  assertEquals(
    await parseMetrics("m.json", '{"acc":0.9,"train":{"loss":0.25,"steps":10},"tags":["a"]}', "m"),
    expected,
  );
  assertEquals(
    await parseMetrics("m.yaml", "acc: 0.9\ntrain:\n  loss: 0.25\n  steps: 10\ntags: [a]\n", "m"),
    expected,
  );
  assertEquals(await parseMetrics("m.csv", "acc,loss\n0.9,0.25\n", "m"), { acc: 0.9, loss: 0.25 });
  assertEquals(await parseMetrics("m.tsv", 'acc\tname\n0.9\t"x, y"\n', "m"), {
    acc: 0.9,
    name: "x, y",
  });
  // Another extension: JSON, else YAML.
  assertEquals(await parseMetrics("scores.txt", "acc: 1\n", "m"), { acc: 1 });
});

test("a file that is no metric file is a one-line error naming it", async () => {
  for (
    const [path, text, message] of [
      ["m.json", "[1]", /m at HEAD: expected a mapping/],
      ["m.csv", "a\n1\n2\n", /m at HEAD: holds 2 rows/],
      ["m.yaml", "a: [", /m at HEAD: not valid YAML/],
      ["m.txt", "{ nope: [", /m at HEAD: not a metric file/],
    ] as const
  ) {
    await assertRejects(() => parseMetrics(path, text, "m at HEAD"), PivotError, message);
  }
});

test("the change of a number is rounded to the decimals of its values", () => {
  assertEquals(numericChange(0.91, 0.93), 0.02);
  assertEquals(numericChange(1e-7, 3e-7), 2e-7);
  assertEquals(numericChange(10, 7), -3);
  assertEquals(numericChange("a", 1), null);
  assertEquals(numericChange(1, NaN), null);
});

test("a diff lists changed keys, and keys of files present on one side", () => {
  const old = new Map([
    ["a.json", { found: true as const, values: { x: 1, same: "s", gone: true } }],
    ["old.json", { found: true as const, values: { y: 2 } }],
  ]);
  const now = new Map([
    ["a.json", { found: true as const, values: { x: 1.5, same: "s", fresh: null } }],
    ["new.json", { found: false as const, reason: "not in the workspace" }],
  ]);
  assertEquals(diffMetrics(old, now), [
    { path: "a.json", key: "x", old: 1, new: 1.5, change: 0.5 },
    { path: "a.json", key: "fresh", old: undefined, new: null, change: null },
    { path: "a.json", key: "gone", old: true, new: undefined, change: null },
    { path: "old.json", key: "y", old: 2, new: undefined, change: null },
  ]);
  assertEquals(diffMetrics(old, now, { all: true }).length, 5);
});
