import assert from "node:assert/strict";
import { selectStages } from "../../lib/cli/targets.ts";
import { PivotError } from "../../lib/errors.ts";
import { buildGraph } from "../../lib/graph/graph.ts";
import { existing, stage } from "../graph/_stages.ts";

const graph = buildGraph([
  stage({ name: "prepare", outs: ["clean.csv"] }),
  stage({ name: "train@small", deps: ["clean.csv"], outs: ["small.json"] }),
  stage({ name: "train@large", deps: ["clean.csv"], outs: ["large.json"] }),
  stage({ name: "trainer", outs: ["t.json"] }),
  stage({ name: "evaluate", deps: ["small.json", "large.json"] }),
], existing());

const select = (...names: string[]) => selectStages(graph, names).map((s) => s.name);

function unknown(name: string, pattern: RegExp): void {
  assert.throws(() => selectStages(graph, [name]), (error) => {
    assert.ok(error instanceof PivotError);
    assert.match(error.message, pattern);
    return true;
  });
}

Deno.test("exact names select those stages, in pipeline order", () => {
  assert.deepEqual(select("evaluate", "prepare"), ["prepare", "evaluate"]);
  assert.deepEqual(select("train@large"), ["train@large"]);
});

Deno.test("a name given twice selects its stage once", () => {
  assert.deepEqual(select("prepare", "prepare"), ["prepare"]);
});

Deno.test("'train@*' selects every variant of train and nothing else", () => {
  assert.deepEqual(select("train@*"), ["train@small", "train@large"]);
});

Deno.test("'*' and '?' are glob wildcards; other characters are literal", () => {
  assert.deepEqual(select("train*"), ["train@small", "train@large", "trainer"]);
  assert.deepEqual(select("train@?????"), ["train@small", "train@large"]);
  assert.deepEqual(select("*"), select(...graph.order.map((s) => s.name)));
});

Deno.test("an unknown name is an error that suggests the closest stage", () => {
  unknown("evalute", /^unknown stage 'evalute': did you mean 'evaluate'\?$/);
  unknown("train@smal", /did you mean 'train@small'\?/);
});

Deno.test("an unknown name far from every stage points to 'pivot list'", () => {
  unknown("completely-different", /unknown stage 'completely-different': run 'pivot list'/);
});

Deno.test("a glob that matches nothing is an error naming the pattern", () => {
  unknown("deploy@*", /pattern 'deploy@\*' matches no stage/);
});
