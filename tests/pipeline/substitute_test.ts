import { substitute, substituteParams, SubstitutionError } from "../../lib/pipeline/substitute.ts";
import { assertEquals, assertThrows } from "../_assert.ts";
import { test } from "../_harness.ts";

test("substitute replaces every ${dim} in a path", () => {
  assertEquals(
    substitute("m/${model}_${data}.json", { model: "small", data: 2 }),
    "m/small_2.json",
  );
  assertEquals(substitute("plain.txt", {}), "plain.txt");
});

test("substitute keeps a whole-string variable's type only when typed", () => {
  assertEquals(substitute("${n}", { n: 5 }, true), 5);
  assertEquals(substitute("${n}", { n: 5 }), "5");
  assertEquals(substitute("${flag}x", { flag: true }, true), "truex");
});

test("substitute names an unknown variable, with a suggestion and the known ones", () => {
  const error = assertThrows(
    () => substitute("${modle}", { model: "a", data: "b" }),
    SubstitutionError,
  );
  assertEquals(
    error.message,
    `unknown variable '\${modle}' in "\${modle}": did you mean '\${model}'? (variables: model, data)`,
  );
  assertThrows(() => substitute("${x}", {}), /the stage has no matrix/);
});

test("substitute refuses an unterminated ${", () => {
  assertThrows(() => substitute("a/${model", { model: "x" }), /unterminated '\$\{'/);
});

test("substituteParams substitutes deeply and says which key failed", () => {
  assertEquals(
    substituteParams({ lr: "${lr}", opt: { tags: ["${m}", 3] } }, { lr: 0.1, m: "small" }),
    { lr: 0.1, opt: { tags: ["small", 3] } },
  );
  const error = assertThrows(
    () => substituteParams({ opt: { tags: ["${nope}"] } }, {}),
    SubstitutionError,
  );
  assertEquals(error.keys, ["opt", "tags", 0]);
});
