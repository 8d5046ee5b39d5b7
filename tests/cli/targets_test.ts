import { selectStages } from "../../lib/cli/targets.ts";
import { PivotError } from "../../lib/errors.ts";
import { buildGraph } from "../../lib/graph/graph.ts";
import { existing, stage } from "../graph/_stages.ts";
import { assertEquals, assertThrows } from "../_assert.ts";
import { test } from "../_harness.ts";

const graph = buildGraph([
  stage({ name: "prepare", outs: ["clean.csv"] }),
  stage({ name: "train@small", deps: ["clean.csv"], outs: ["small.json"] }),
  stage({ name: "train@large", deps: ["clean.csv"], outs: ["large.json"] }),
  stage({ name: "trainer", outs: ["t.json"] }),
  stage({ name: "evaluate", deps: ["small.json", "large.json"] }),
], existing());

const select = (...names: string[]) => selectStages(graph, names).map((s) => s.name);

function unknown(name: string, pattern: RegExp): void {
  assertThrows(() => selectStages(graph, [name]), PivotError, pattern);
}

test("exact names select those stages, in pipeline order", () => {
  assertEquals(select("evaluate", "prepare"), ["prepare", "evaluate"]);
  assertEquals(select("train@large"), ["train@large"]);
});

test("a name given twice selects its stage once", () => {
  assertEquals(select("prepare", "prepare"), ["prepare"]);
});

test("'train@*' selects every variant of train and nothing else", () => {
  assertEquals(select("train@*"), ["train@small", "train@large"]);
});

test("'*' and '?' are glob wildcards; other characters are literal", () => {
  assertEquals(select("train*"), ["train@small", "train@large", "trainer"]);
  assertEquals(select("train@?????"), ["train@small", "train@large"]);
  assertEquals(select("*"), select(...graph.order.map((s) => s.name)));
});

test("an unknown name is an error that suggests the closest stage", () => {
  unknown("evalute", /^unknown stage 'evalute': did you mean 'evaluate'\?$/);
  unknown("train@smal", /did you mean 'train@small'\?/);
});

test("an unknown name far from every stage points to 'pivot list'", () => {
  unknown("completely-different", /unknown stage 'completely-different': run 'pivot list'/);
});

test("a glob that matches nothing is an error naming the pattern", () => {
  unknown("deploy@*", /pattern 'deploy@\*' matches no stage/);
});
