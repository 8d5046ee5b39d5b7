import { PipelineDefinitionError, plot } from "../../mod.ts";
import * as loaders from "../../lib/api/loaders.ts";
import { assert, assertEquals } from "../_assert.ts";
import { test } from "../_harness.ts";

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected an error");
}

test("plot() keeps its display options apart from caching", () => {
  const roc = plot("roc.csv", loaders.csv(), { x: "fpr", y: "tpr", template: "linear" });
  assertEquals([roc.kind, roc.cache, roc.plot], ["plot", true, {
    x: "fpr",
    y: "tpr",
    template: "linear",
  }]);
  const loss = plot("loss.json", loaders.json(), { y: ["train", "val"], cache: false });
  assertEquals([loss.cache, loss.plot], [false, { y: ["train", "val"] }]);
  assertEquals(plot("chart.png").plot, {});
});

test("plot() options are copied and frozen: a later change of the caller's array does not leak in", () => {
  const ys = ["a"];
  const declared = plot("p.csv", loaders.csv(), { y: ys });
  ys.push("b");
  assertEquals(declared.plot?.y, ["a"]);
  assert(Object.isFrozen(declared.plot));
});

test("an unknown template, option or empty column name is a definition error naming the plot", () => {
  const template = thrown(() => plot("roc.csv", loaders.csv(), { template: "pie" as "linear" }));
  assert(template instanceof PipelineDefinitionError);
  assertEquals(
    template.message,
    'plot("roc.csv"): unknown template "pie": use linear, scatter, bar, confusion',
  );
  const option = thrown(() => plot("roc.csv", loaders.csv(), { colour: "red" } as never));
  assertEquals(
    option.message,
    "plot(\"roc.csv\"): unknown option 'colour': use cache, template, x, y, title, xLabel, yLabel",
  );
  const column = thrown(() => plot("roc.csv", loaders.csv(), { y: ["tpr", ""] }));
  assertEquals(column.message, 'plot("roc.csv"): option \'y\' must name a column, got ""');
});
