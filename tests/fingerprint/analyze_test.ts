/** Module analysis on source text: normalisation and references, without a project. */

import { analyzeModule, loadTypeScript } from "../../lib/fingerprint/_analyze.ts";
import type { ModuleSummary } from "../../lib/fingerprint/_summary.ts";
import { assertEquals, assertNotEquals } from "../_assert.ts";
import { test } from "../_harness.ts";

const ts = await loadTypeScript();
const analyze = (source: string, file = "m.ts"): Promise<ModuleSummary> =>
  analyzeModule(ts, file, source);
const hashOf = async (source: string, name = "f") => (await analyze(source)).decls[name].h;

test("type assertions, satisfies, non-null and their parentheses are not code", async () => {
  assertEquals(
    await hashOf("function f(x: unknown) { return (x as number).toFixed(); }"),
    await hashOf("function f(x) { return x.toFixed(); }"),
  );
  assertEquals(
    await hashOf("function f(x?: string) { return x!.length satisfies number; }"),
    await hashOf("function f(x) { return x.length; }"),
  );
});

test("parentheses that end an optional chain are kept", async () => {
  assertNotEquals(
    await hashOf("function f(a) { return (a?.b).c; }"),
    await hashOf("function f(a) { return a?.b.c; }"),
  );
});

test("template literals without substitutions equal strings; tagged ones keep raw text", async () => {
  assertEquals(await hashOf("const f = `a\\tb`;"), await hashOf("const f = 'a\\tb';"));
  assertNotEquals(await hashOf("const f = tag`a\\tb`;"), await hashOf("const f = tag`a\tb`;"));
});

test("a parameter property's accessibility does not count, its presence does", async () => {
  const cls = (param: string) => `class f { constructor(${param}) {} }`;
  assertEquals(await hashOf(cls("private x: number")), await hashOf(cls("public readonly x")));
  assertNotEquals(await hashOf(cls("private x: number")), await hashOf(cls("x: number")));
});

test("overload signatures, abstract and declare members are not code", async () => {
  assertEquals(
    await hashOf(
      "function f(a: string): string;\nfunction f(a: number): number;\nfunction f(a: any) { return a; }",
    ),
    await hashOf("function f(a) { return a; }"),
  );
  assertEquals(
    await hashOf("abstract class f { abstract m(): void; declare x: number; n() {} }"),
    await hashOf("class f { n() {} }"),
  );
});

test("async and generator functions differ from plain ones", async () => {
  const plain = await hashOf("function f() { return 1; }");
  assertNotEquals(await hashOf("async function f() { return 1; }"), plain);
  assertNotEquals(await hashOf("function* f() { return 1; }"), plain);
});

test("locals that shadow module names are not references", async () => {
  const summary = await analyze(`
function helper() { return 1; }
function other() { return 2; }
function f(helper: () => number) {
  const other = 3;
  return helper() + other;
}`);
  assertEquals(summary.decls.f.r, []);
});

test("member chains on a namespace import are recorded whole", async () => {
  const summary = await analyze(`
import * as u from "./u.ts";
function f() { return u.stats.mean([1]) + u["max"](2); }`);
  assertEquals(summary.decls.f.r, [["u", "stats", "mean"], ["u", "max"]]);
});

test("literal dynamic imports are recorded, with destructured members", async () => {
  const summary = await analyze(`
async function f() {
  const { a, b: c } = await import("./x.ts");
  const whole = await import("./y.ts");
  return (await import("./z.ts")).d + a + c + whole;
}`);
  assertEquals(summary.decls.f.d, [
    { s: "./x.ts", m: ["a", "b"] },
    { s: "./y.ts" },
    { s: "./z.ts", m: ["d"] },
  ]);
  assertEquals(summary.specifiers, ["./x.ts", "./y.ts", "./z.ts"]);
});

test("imports, exports and re-exports are summarised", async () => {
  const summary = await analyze(`
import d, { a as b, type T } from "./a.ts";
import * as ns from "./ns.ts";
import type { U } from "./types.ts";
export { b as c };
export { x as y } from "./x.ts";
export * from "./star.ts";
export * as all from "./all.ts";
export default function () {}
`);
  assertEquals(summary.imports, {
    b: { s: "./a.ts", n: "a", l: 2 },
    d: { s: "./a.ts", n: "default", l: 2 },
    ns: { s: "./ns.ts", n: "*", l: 3 },
  });
  assertEquals(summary.exports, {
    all: { s: "./all.ts", n: "*", l: 8 },
    c: { local: "b" },
    default: { local: "default" },
    y: { s: "./x.ts", n: "x", l: 6 },
  });
  assertEquals(summary.stars, ["./star.ts"]);
});

test("stage sites are found with the position of the callee's name", async () => {
  const summary = await analyze(`pipeline
  .stage({ name: "a", run: () => 1 })
  .stage({ name: "b", run: train });
pipeline.register(def, { name: "c" });
const def = defineStage({ run() { return 2; } });`);
  assertEquals(
    summary.sites.map((
      s,
    ) => [s.k, s.l, s.c, s.ref ?? null, s.spec?.run ? "u" in s.spec.run : null]),
    [
      ["stage", 3, 4, null, false],
      ["stage", 2, 4, null, true],
      ["register", 4, 10, ["def"], null],
      ["define", 5, 13, null, true],
    ],
  );
});

test("a JSON module's hash ignores its formatting", async () => {
  const a = await analyze('{"a": 1, "b": [1, 2]}', "d.json");
  const b = await analyze('{\n  "b": [1, 2],\n  "a": 1\n}\n', "d.json");
  assertEquals(a.decls.default.h, b.decls.default.h);
});
