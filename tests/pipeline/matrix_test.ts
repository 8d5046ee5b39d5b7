import {
  dvcMatrixDimension,
  expandMatrix,
  foreachVariants,
  type MatrixDimension,
} from "../../lib/pipeline/matrix.ts";
import { assertEquals } from "../_assert.ts";
import { test } from "../_harness.ts";

function dimension(name: string, keys: (string | number | boolean)[]): MatrixDimension<string> {
  return {
    name,
    values: keys.map((value) => ({ key: String(value), value, item: `${name}=${value}` })),
  };
}

test("expandMatrix crosses dimensions, the first outermost", () => {
  const variants = expandMatrix([
    dimension("model", ["small", "large"]),
    dimension("data", [1, 2]),
  ]);
  assertEquals(variants.map((v) => v.name), ["small_1", "small_2", "large_1", "large_2"]);
  assertEquals(variants[1].values, { model: "small", data: 2 });
  assertEquals(variants[1].items, ["model=small", "data=2"]);
  assertEquals(variants[1].combination, "small, 2");
});

test("expandMatrix keeps each value's type and leaves repeated names to the caller", () => {
  const variants = expandMatrix([dimension("a", ["x_y", "x"]), dimension("b", [true, "y_true"])]);
  assertEquals(variants.map((v) => v.name), ["x_y_true", "x_y_y_true", "x_true", "x_y_true"]);
  assertEquals(variants[0].values, { a: "x_y", b: true });
});

test("expandMatrix of one dimension gives one variant per value", () => {
  assertEquals(expandMatrix([dimension("n", [5])]).map((v) => [v.name, v.values]), [
    ["5", { n: 5 }],
  ]);
});

test("expandMatrix joins with another separator, as DVC's matrix does with '-'", () => {
  const variants = expandMatrix([dimension("model", ["a", "b"]), dimension("lr", [1])], "-");
  assertEquals(variants.map((v) => v.name), ["a-1", "b-1"]);
});

test("DVC's matrix names a list or mapping value by its dimension and index", () => {
  const dim = dvcMatrixDimension("opt", ["adam", { lr: 1 }, [1, 2]], String);
  assertEquals(dim.values.map((v) => v.key), ["adam", "opt1", "opt2"]);
  assertEquals(dim.values[1].value, { lr: 1 });
});

test("foreachVariants names variants as DVC does", () => {
  assertEquals(foreachVariants(["us", "eu"], String), [
    { key: "us", item: "us" },
    { key: "eu", item: "eu" },
  ]);
  assertEquals(foreachVariants([1, { a: 1 }], String), [
    { key: "0", item: 1 },
    { key: "1", item: { a: 1 } },
  ]);
  assertEquals(foreachVariants({ small: { n: 5 } }, String), [{ key: "small", item: { n: 5 } }]);
});
