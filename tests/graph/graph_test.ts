import { PivotError } from "../../lib/errors.ts";
import {
  buildGraph,
  graphFromShape,
  graphShape,
  type Producer,
  type StageGraph,
  withDownstream,
  withUpstream,
} from "../../lib/graph/graph.ts";
import type { StageDef } from "../../lib/model/stage_def.ts";
import { existing, stage } from "./_stages.ts";
import { assert, assertEquals, assertThrows } from "../_assert.ts";
import { test } from "../_harness.ts";

const names = (stages: readonly StageDef[]) => stages.map((s) => s.name);

function rejects(build: () => unknown, pattern: RegExp): void {
  assertThrows(build, PivotError, pattern);
}

test("order puts upstream first and breaks ties by declaration order", () => {
  const graph = buildGraph([
    stage({ name: "report", deps: ["model.json"] }),
    stage({ name: "prep", deps: ["raw.csv"], outs: ["clean.csv"] }),
    stage({ name: "train", deps: ["clean.csv"], outs: ["model.json"] }),
    stage({ name: "lint" }),
  ], existing("raw.csv"));
  assertEquals(names(graph.order), ["prep", "train", "report", "lint"]);
});

test("independent stages keep their declaration order", () => {
  const graph = buildGraph(
    ["c", "a", "d", "b"].map((name) => stage({ name, outs: [`${name}.txt`] })),
    existing(),
  );
  assertEquals(names(graph.order), ["c", "a", "d", "b"]);
});

test("upstream and downstream hold the direct neighbours", () => {
  const graph = buildGraph([
    stage({ name: "a", outs: ["a.txt"] }),
    stage({ name: "b", deps: ["a.txt"], outs: ["b.txt"] }),
    stage({ name: "c", deps: ["a.txt", "b.txt"] }),
  ], existing());
  assertEquals([...graph.upstream.get("c")!].sort(), ["a", "b"]);
  assertEquals([...graph.downstream.get("a")!].sort(), ["b", "c"]);
  assertEquals([...graph.upstream.get("a")!], []);
  assertEquals(graph.byName.get("b")?.name, "b");
});

test("a dep on a directory matches the outs inside it", () => {
  const graph = buildGraph([
    stage({ name: "one", outs: ["data/one.csv"] }),
    stage({ name: "two", outs: ["data/sub/two.csv"] }),
    stage({ name: "other", outs: ["data2/x.csv"] }),
    stage({ name: "merge", deps: ["data/"] }),
  ], existing());
  assertEquals([...graph.upstream.get("merge")!].sort(), ["one", "two"]);
  const producers = graph.producersOfDep.get("merge")!.get("data")!;
  assertEquals(producers.map((p) => p.out.path).sort(), ["data/one.csv", "data/sub/two.csv"]);
});

test("a dep inside an out directory depends on that out's stage", () => {
  const graph = buildGraph([
    stage({ name: "train", outs: ["models/"] }),
    stage({ name: "eval", deps: ["models/best/model.json"] }),
  ], existing());
  assertEquals([...graph.upstream.get("eval")!], ["train"]);
  assertEquals(names(graph.order), ["train", "eval"]);
});

test("a path that only shares a name prefix with an out does not match it", () => {
  const graph = buildGraph([
    stage({ name: "train", outs: ["models/"] }),
    stage({ name: "eval", deps: ["models2/m.json", "models.json"] }),
  ], existing("models2/m.json", "models.json"));
  assertEquals([...graph.upstream.get("eval")!], []);
  assertEquals(graph.producersOfDep.get("eval")!.get("models.json"), []);
});

test("a dep that exists on disk and is produced by no stage is an input", () => {
  const graph = buildGraph(
    [stage({ name: "prep", deps: ["raw.csv", "raw/"] })],
    existing(
      "raw.csv",
      "raw",
    ),
  );
  assertEquals(graph.producersOfDep.get("prep")!.get("raw.csv"), []);
});

test("two stages with the same out is an error naming both stages", () => {
  rejects(
    () =>
      buildGraph([
        stage({ name: "alpha", outs: ["model.json"] }),
        stage({ name: "beta", outs: ["model.json"] }),
      ], existing()),
    /'model\.json' is an out of both 'alpha' and 'beta'/,
  );
});

test("one stage declaring the same out twice is an error", () => {
  rejects(
    () => buildGraph([stage({ name: "alpha", outs: ["m.json", "m.json"] })], existing()),
    /'alpha' declares 'm\.json' as two outs/,
  );
});

test("an out inside another stage's out directory is an error naming both", () => {
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

test("a cycle is an error that names the stages around it", () => {
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

test("a cycle error does not list stages merely downstream of the cycle", () => {
  assertThrows(
    () =>
      buildGraph([
        stage({ name: "after", deps: ["x.txt"] }),
        stage({ name: "x", deps: ["y.txt"], outs: ["x.txt"] }),
        stage({ name: "y", deps: ["x.txt"], outs: ["y.txt"] }),
      ], existing()),
    /cycle: (x -> y -> x|y -> x -> y):/,
  );
});

test("a stage that depends on its own out is a cycle", () => {
  rejects(
    () => buildGraph([stage({ name: "loop", deps: ["state/"], outs: ["state/"] })], existing()),
    /cycle: loop -> loop/,
  );
});

test("a dep that neither exists nor is produced is an error naming dep and stage", () => {
  rejects(
    () => buildGraph([stage({ name: "train", deps: ["data/missing.csv"] })], existing()),
    /stage 'train' depends on 'data\/missing\.csv', which does not exist and no stage produces it/,
  );
});

test("two stages with one name is an error naming both files", () => {
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

test("withUpstream is the stages and everything upstream, in graph order", () => {
  assertEquals(names(withUpstream(chain(), ["train"])), ["raw", "prep", "train"]);
  assertEquals(names(withUpstream(chain(), ["eval", "side"])), [
    "raw",
    "prep",
    "train",
    "eval",
    "side",
  ]);
});

test("withDownstream is the stages and everything downstream, in graph order", () => {
  assertEquals(names(withDownstream(chain(), ["prep"])), ["prep", "train", "eval"]);
  assertEquals(names(withDownstream(chain(), ["side"])), ["side"]);
  assertEquals(names(withDownstream(chain(), [])), []);
  assertEquals(names(withUpstream(chain(), [])), []);
});

test("a stage with two deps on one producer has it once upstream, and once downstream of it", () => {
  const graph = buildGraph([
    stage({ name: "make", outs: ["data/", "extra.txt"] }),
    stage({ name: "use", deps: ["data/a.txt", "data/b.txt", "extra.txt"] }),
  ], existing());
  assertEquals([...graph.upstream.get("use")!], ["make"]);
  assertEquals([...graph.downstream.get("make")!], ["use"]);
  assertEquals(graph.producersOfDep.get("use")!.get("data/b.txt")!.map((p) => p.stage.name), [
    "make",
  ]);
  assertEquals(names(graph.order), ["make", "use"]);
});

test("outs side by side, or a file out beside a directory out, are no overlap", () => {
  const graph = buildGraph([
    stage({ name: "a", outs: ["out/a.txt", "out/b.txt"] }),
    stage({ name: "b", outs: ["outs/", "out/c.txt"] }),
  ], existing());
  assertEquals(names(graph.order), ["a", "b"]);
});

test("order takes the earliest-declared ready stage at every step, in wide and random graphs", () => {
  // A deterministic pseudo-random DAG: each stage depends on up to three
  // stages that come before it in a shuffled order, so declaration order and
  // topological order disagree often.
  let seed = 7;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const count = 300;
  const rank = Array.from({ length: count }, (_, i) => i).sort(() => random() - 0.5);
  const upstreamOf = rank.map((r) =>
    [0, 1, 2].map(() => Math.floor(random() * count)).filter((other) => rank[other] < r)
  );
  const stages = rank.map((_, i) =>
    stage({
      name: `s${i}`,
      deps: [...new Set(upstreamOf[i])].map((u) => `o${u}.txt`),
      outs: [`o${i}.txt`],
    })
  );
  // The rule, written the slow way: scan for the first declared stage whose upstream is done.
  const done = new Set<number>();
  const expected: string[] = [];
  while (done.size < count) {
    const next = stages.findIndex((_, i) =>
      !done.has(i) && upstreamOf[i].every((u) => done.has(u))
    );
    done.add(next);
    expected.push(`s${next}`);
  }
  assertEquals(names(buildGraph(stages, existing()).order), expected);
});

/** A graph as plain data: order, edges and producers (with their identity) by name. */
function graphData(graph: StageGraph) {
  const producers = new Set<Producer>();
  return {
    order: graph.order.map((s) => s.name),
    byName: [...graph.byName].map(([name, s]) => [name, graph.order.indexOf(s)]),
    upstream: [...graph.upstream].map(([name, set]) => [name, [...set]]),
    downstream: [...graph.downstream].map(([name, set]) => [name, [...set]]),
    producers: [...graph.producersOfDep].map(([name, perDep]) => [
      name,
      [...perDep].map(([path, list]) => [
        path,
        list.map((p) => {
          const again = producers.has(p);
          producers.add(p);
          return [p.stage.name, p.out.path, again];
        }),
      ]),
    ]),
  };
}

test("a graph rebuilt from its shape is the graph built, in every order and edge", () => {
  const stages = [
    stage({ name: "late", deps: ["out/all/"], outs: ["report.txt"] }),
    stage({ name: "a", deps: ["data/in.txt"], outs: ["out/all/a.txt"] }),
    stage({
      name: "b",
      deps: ["data/in.txt", "out/all/a.txt", "out/all/a.txt"],
      outs: ["out/all/b/"],
    }),
    stage({ name: "c", deps: ["out/all/b/x.txt", "data/in.txt"], outs: ["c1.txt", "c2.txt"] }),
    stage({ name: "d", deps: ["c2.txt", "c1.txt", "out/all/"], outs: [] }),
    stage({ name: "lone" }),
  ];
  const options = existing("data/in.txt");
  const built = buildGraph(stages, options);
  const shape = JSON.parse(JSON.stringify(graphShape(stages, built)));
  const rebuilt = graphFromShape(stages, shape, options)!;
  assertEquals(graphData(rebuilt), graphData(built));
  for (const s of rebuilt.order) assert(s === stages[stages.indexOf(s)], "the stages themselves");
  // An input gone: no graph, so that building it says which.
  assertEquals(graphFromShape(stages, shape, existing()), undefined);
  rejects(() => buildGraph(stages, existing()), /data\/in\.txt/);
  // A shape of other stages is refused.
  assertThrows(() => graphFromShape(stages.slice(1), shape, options));
  assertThrows(() => graphFromShape(stages, { ...shape, order: [0, 0, 1, 2, 3, 4] }, options));
  assertThrows(() =>
    graphFromShape(stages, { ...shape, producers: [...shape.producers, 1] }, options)
  );
});

test("a graph from its shape checks its edges at once and makes them once, when first read", () => {
  const stages = [
    stage({ name: "a", deps: ["data/in.txt"], outs: ["a.txt"] }),
    stage({ name: "b", deps: ["a.txt"], outs: ["b.txt"] }),
  ];
  const options = existing("data/in.txt");
  const shape = graphShape(stages, buildGraph(stages, options));
  // b's one dep has one producer: a's out 0. An out a does not have is refused now, not when read.
  assertEquals(shape.producers, [0, 1, 0, 0]);
  assertThrows(() => graphFromShape(stages, { ...shape, producers: [0, 1, 0, 7] }, options));
  assertThrows(() => graphFromShape(stages, { ...shape, producers: [0, 1, 9, 0] }, options));
  const graph = graphFromShape(stages, shape, options)!;
  assert(graph.upstream === graph.upstream, "made once");
  assertEquals([...graph.upstream.get("b")!], ["a"]);
  assertEquals([...graph.downstream.get("a")!], ["b"]);
});

test("the closures read no edge of a graph when nothing is named", () => {
  const stages = [stage({ name: "a", outs: ["a.txt"] }), stage({ name: "b", deps: ["a.txt"] })];
  const built = buildGraph(stages, existing());
  const unread = (): never => {
    throw new Error("an edge was read");
  };
  const guarded: StageGraph = {
    order: built.order,
    byName: built.byName,
    get upstream() {
      return unread();
    },
    get downstream() {
      return unread();
    },
    get producersOfDep() {
      return unread();
    },
  };
  assertEquals(withDownstream(guarded, []), []);
  assertEquals(withUpstream(guarded, []), []);
  assertThrows(() => withUpstream(guarded, ["b"]), Error, /an edge was read/);
});
