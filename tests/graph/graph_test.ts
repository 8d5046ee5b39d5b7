import assert from "node:assert/strict";
import { PivotError } from "../../lib/errors.ts";
import { buildGraph, withDownstream, withUpstream } from "../../lib/graph/graph.ts";
import type { StageDef } from "../../lib/model/stage_def.ts";
import { existing, stage } from "./_stages.ts";

const names = (stages: readonly StageDef[]) => stages.map((s) => s.name);

function rejects(build: () => unknown, pattern: RegExp): void {
  assert.throws(build, (error) => {
    assert.ok(error instanceof PivotError, `expected a PivotError, got ${error}`);
    assert.match(error.message, pattern);
    return true;
  });
}

Deno.test("order puts upstream first and breaks ties by declaration order", () => {
  const graph = buildGraph([
    stage({ name: "report", deps: ["model.json"] }),
    stage({ name: "prep", deps: ["raw.csv"], outs: ["clean.csv"] }),
    stage({ name: "train", deps: ["clean.csv"], outs: ["model.json"] }),
    stage({ name: "lint" }),
  ], existing("raw.csv"));
  assert.deepEqual(names(graph.order), ["prep", "train", "report", "lint"]);
});

Deno.test("independent stages keep their declaration order", () => {
  const graph = buildGraph(
    ["c", "a", "d", "b"].map((name) => stage({ name, outs: [`${name}.txt`] })),
    existing(),
  );
  assert.deepEqual(names(graph.order), ["c", "a", "d", "b"]);
});

Deno.test("upstream and downstream hold the direct neighbours", () => {
  const graph = buildGraph([
    stage({ name: "a", outs: ["a.txt"] }),
    stage({ name: "b", deps: ["a.txt"], outs: ["b.txt"] }),
    stage({ name: "c", deps: ["a.txt", "b.txt"] }),
  ], existing());
  assert.deepEqual([...graph.upstream.get("c")!].sort(), ["a", "b"]);
  assert.deepEqual([...graph.downstream.get("a")!].sort(), ["b", "c"]);
  assert.deepEqual([...graph.upstream.get("a")!], []);
  assert.equal(graph.byName.get("b")?.name, "b");
});

Deno.test("a dep on a directory matches the outs inside it", () => {
  const graph = buildGraph([
    stage({ name: "one", outs: ["data/one.csv"] }),
    stage({ name: "two", outs: ["data/sub/two.csv"] }),
    stage({ name: "other", outs: ["data2/x.csv"] }),
    stage({ name: "merge", deps: ["data/"] }),
  ], existing());
  assert.deepEqual([...graph.upstream.get("merge")!].sort(), ["one", "two"]);
  const producers = graph.producersOfDep.get("merge")!.get("data")!;
  assert.deepEqual(producers.map((p) => p.out.path).sort(), ["data/one.csv", "data/sub/two.csv"]);
});

Deno.test("a dep inside an out directory depends on that out's stage", () => {
  const graph = buildGraph([
    stage({ name: "train", outs: ["models/"] }),
    stage({ name: "eval", deps: ["models/best/model.json"] }),
  ], existing());
  assert.deepEqual([...graph.upstream.get("eval")!], ["train"]);
  assert.deepEqual(names(graph.order), ["train", "eval"]);
});

Deno.test("a path that only shares a name prefix with an out does not match it", () => {
  const graph = buildGraph([
    stage({ name: "train", outs: ["models/"] }),
    stage({ name: "eval", deps: ["models2/m.json", "models.json"] }),
  ], existing("models2/m.json", "models.json"));
  assert.deepEqual([...graph.upstream.get("eval")!], []);
  assert.deepEqual(graph.producersOfDep.get("eval")!.get("models.json"), []);
});

Deno.test("a dep that exists on disk and is produced by no stage is an input", () => {
  const graph = buildGraph(
    [stage({ name: "prep", deps: ["raw.csv", "raw/"] })],
    existing(
      "raw.csv",
      "raw",
    ),
  );
  assert.deepEqual(graph.producersOfDep.get("prep")!.get("raw.csv"), []);
});

Deno.test("two stages with the same out is an error naming both stages", () => {
  rejects(
    () =>
      buildGraph([
        stage({ name: "alpha", outs: ["model.json"] }),
        stage({ name: "beta", outs: ["model.json"] }),
      ], existing()),
    /'model\.json' is an out of both 'alpha' and 'beta'/,
  );
});

Deno.test("one stage declaring the same out twice is an error", () => {
  rejects(
    () => buildGraph([stage({ name: "alpha", outs: ["m.json", "m.json"] })], existing()),
    /'alpha' declares 'm\.json' as two outs/,
  );
});

Deno.test("an out inside another stage's out directory is an error naming both", () => {
  const message = /out 'data\/x\.csv' of 'inner' is inside out directory 'data' of 'outer'/;
  rejects(
    () =>
      buildGraph([
        stage({ name: "outer", outs: ["data/"] }),
        stage({ name: "inner", outs: ["data/x.csv"] }),
      ], existing()),
    message,
  );
  rejects(
    () =>
      buildGraph([
        stage({ name: "inner", outs: ["data/x.csv"] }),
        stage({ name: "outer", outs: ["data/"] }),
      ], existing()),
    message,
  );
});

Deno.test("a cycle is an error that names the stages around it", () => {
  rejects(
    () =>
      buildGraph([
        stage({ name: "a", deps: ["c.txt"], outs: ["a.txt"] }),
        stage({ name: "b", deps: ["a.txt"], outs: ["b.txt"] }),
        stage({ name: "c", deps: ["b.txt"], outs: ["c.txt"] }),
        stage({ name: "after", deps: ["c.txt"] }),
      ], existing()),
    /cycle: (a -> b -> c -> a|b -> c -> a -> b|c -> a -> b -> c):/,
  );
});

Deno.test("a cycle error does not list stages merely downstream of the cycle", () => {
  assert.throws(
    () =>
      buildGraph([
        stage({ name: "after", deps: ["x.txt"] }),
        stage({ name: "x", deps: ["y.txt"], outs: ["x.txt"] }),
        stage({ name: "y", deps: ["x.txt"], outs: ["y.txt"] }),
      ], existing()),
    (error: Error) => {
      assert.match(error.message, /cycle: (x -> y -> x|y -> x -> y):/);
      return true;
    },
  );
});

Deno.test("a stage that depends on its own out is a cycle", () => {
  rejects(
    () => buildGraph([stage({ name: "loop", deps: ["state/"], outs: ["state/"] })], existing()),
    /cycle: loop -> loop/,
  );
});

Deno.test("a dep that neither exists nor is produced is an error naming dep and stage", () => {
  rejects(
    () => buildGraph([stage({ name: "train", deps: ["data/missing.csv"] })], existing()),
    /stage 'train' depends on 'data\/missing\.csv', which does not exist and no stage produces it/,
  );
});

Deno.test("two stages with one name is an error naming both files", () => {
  rejects(
    () =>
      buildGraph([
        stage({ name: "train", file: "/project/a/pipeline.ts" }),
        stage({ name: "train", file: "/project/b/pipeline.ts" }),
      ], existing()),
    /'train' is defined twice \(in \/project\/a\/pipeline\.ts and \/project\/b\/pipeline\.ts\)/,
  );
});

const chain = () =>
  buildGraph([
    stage({ name: "raw", outs: ["raw.csv"] }),
    stage({ name: "prep", deps: ["raw.csv"], outs: ["clean.csv"] }),
    stage({ name: "train", deps: ["clean.csv"], outs: ["model.json"] }),
    stage({ name: "eval", deps: ["model.json", "clean.csv"], outs: ["metrics.json"] }),
    stage({ name: "side", outs: ["side.txt"] }),
  ], existing());

Deno.test("withUpstream is the stages and everything upstream, in graph order", () => {
  assert.deepEqual(names(withUpstream(chain(), ["train"])), ["raw", "prep", "train"]);
  assert.deepEqual(names(withUpstream(chain(), ["eval", "side"])), [
    "raw",
    "prep",
    "train",
    "eval",
    "side",
  ]);
});

Deno.test("withDownstream is the stages and everything downstream, in graph order", () => {
  assert.deepEqual(names(withDownstream(chain(), ["prep"])), ["prep", "train", "eval"]);
  assert.deepEqual(names(withDownstream(chain(), ["side"])), ["side"]);
});
