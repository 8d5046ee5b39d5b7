import { substitute, substituteParams, SubstitutionError } from "../../lib/pipeline/substitute.ts";
import { assert, assertEquals, assertRejects } from "../_assert.ts";

Deno.test("substitute replaces every ${dim} in a path", () => {
  assertEquals(
    substitute("m/${model}_${data}.json", { model: "small", data: 2 }),
    "m/small_2.json",
  );
  assertEquals(substitute("plain.txt", {}), "plain.txt");
});

Deno.test("substitute keeps a whole-string variable's type only when typed", () => {
  assertEquals(substitute("${n}", { n: 5 }, true), 5);
  assertEquals(substitute("${n}", { n: 5 }), "5");
  assertEquals(substitute("${flag}x", { flag: true }, true), "truex");
});

Deno.test("substitute names an unknown variable, with a suggestion and the known ones", async () => {
  const error = await assertRejects(() => substitute("${modle}", { model: "a", data: "b" }));
  assert(error instanceof SubstitutionError);
  assertEquals(
    error.message,
    `unknown variable '\${modle}' in "\${modle}": did you mean '\${model}'? (variables: model, data)`,
  );
  await assertRejects(() => substitute("${x}", {}), /the stage has no matrix/);
});

Deno.test("substitute refuses an unterminated ${", async () => {
  await assertRejects(() => substitute("a/${model", { model: "x" }), /unterminated '\$\{'/);
});

Deno.test("substituteParams substitutes deeply and says which key failed", async () => {
  assertEquals(
    substituteParams({ lr: "${lr}", opt: { tags: ["${m}", 3] } }, { lr: 0.1, m: "small" }),
    { lr: 0.1, opt: { tags: ["small", 3] } },
  );
  const error = await assertRejects(() => substituteParams({ opt: { tags: ["${nope}"] } }, {}));
  assert(error instanceof SubstitutionError);
  assertEquals(error.keys, ["opt", "tags", 0]);
});
