/** Helpers in other modules: at depth, through namespaces, re-exports and default exports. */

import { changesAfter } from "./_fingerprint.ts";
import { assertEquals } from "../_assert.ts";
import { test } from "../_harness.ts";

const stage = (imports: string, expr: string) =>
  `import { loaders, out, Pipeline } from "jsr:@pivot/core";
${imports}

export const pipeline = new Pipeline("t");

pipeline.stage({
  name: "a",
  outs: { x: out("x.json", loaders.json<number>()) },
  run: () => ({ x: ${expr} }),
});
`;

const DEEP = {
  "pipeline.ts": stage(`import { level1 } from "./lib/one.ts";`, "level1(1)"),
  "lib/one.ts":
    `import { level2 } from "./two.ts";\nexport function level1(x: number) {\n  return level2(x) + 1;\n}\n`,
  "lib/two.ts":
    `import { level3 } from "./three.ts";\nexport function level2(x: number) {\n  return level3(x) * 2;\n}\n`,
  "lib/three.ts":
    `export function level3(x: number) {\n  return x * 3;\n}\n\nexport function sibling() {\n  return 0;\n}\n`,
};

test("a helper at depth 3 in another module changes its mod: key", async () => {
  const changes = await changesAfter(DEEP, (p) => p.edit("lib/three.ts", "x * 3", "x * 4"));
  assertEquals(changes, { a: ["mod:lib/three.ts#level3"] });
});

test("an unreached function beside a deep helper changes nothing", async () => {
  const changes = await changesAfter(DEEP, (p) => p.edit("lib/three.ts", "return 0", "return 1"));
  assertEquals(changes, { a: [] });
});

const NAMESPACE = {
  "pipeline.ts": stage(`import * as u from "./lib/u.ts";`, "u.scale(2)"),
  "lib/u.ts":
    `export function scale(x: number) {\n  return x * 10;\n}\n\nexport function other() {\n  return 1;\n}\n`,
};

test("a helper reached through import * as u and u.fn() changes", async () => {
  const changes = await changesAfter(NAMESPACE, (p) => p.edit("lib/u.ts", "x * 10", "x * 11"));
  assertEquals(changes, { a: ["mod:lib/u.ts#scale"] });
});

test("another export of a namespace-imported module changes nothing", async () => {
  const changes = await changesAfter(NAMESPACE, (p) => p.edit("lib/u.ts", "return 1", "return 2"));
  assertEquals(changes, { a: [] });
});

const REEXPORT = {
  "pipeline.ts": stage(`import { renamed } from "./lib/index.ts";`, "renamed(2)"),
  "lib/index.ts": `export { impl as renamed } from "./impl.ts";\n`,
  "lib/impl.ts":
    `export function impl(x: number) {\n  return x + 1;\n}\n\nexport function unrelated() {\n  return 1;\n}\n`,
};

test("a helper reached through a re-export changes", async () => {
  const changes = await changesAfter(REEXPORT, (p) => p.edit("lib/impl.ts", "x + 1", "x + 2"));
  assertEquals(changes, { a: ["mod:lib/impl.ts#impl"] });
});

test("an export a re-export does not name changes nothing", async () => {
  const changes = await changesAfter(
    REEXPORT,
    (p) => p.edit("lib/impl.ts", "return 1", "return 2"),
  );
  assertEquals(changes, { a: [] });
});

const STAR = {
  "pipeline.ts": stage(`import * as all from "./lib/index.ts";`, "all.impl(2)"),
  "lib/index.ts": `export * from "./impl.ts";\nexport const local = 1;\n`,
  "lib/impl.ts":
    `export function impl(x: number) {\n  return x + 1;\n}\n\nexport function unrelated() {\n  return 1;\n}\n`,
};

test("a helper reached through export * changes", async () => {
  const changes = await changesAfter(STAR, (p) => p.edit("lib/impl.ts", "x + 1", "x + 2"));
  assertEquals(changes, { a: ["mod:lib/impl.ts#impl"] });
});

test("another export behind export * changes nothing", async () => {
  const changes = await changesAfter(STAR, (p) => p.edit("lib/impl.ts", "return 1", "return 2"));
  assertEquals(changes, { a: [] });
});

const DEFAULT = {
  "pipeline.ts": stage(
    `import anon from "./lib/anon.ts";\nimport named from "./lib/named.ts";`,
    "anon(1) + named(2)",
  ),
  "lib/anon.ts": `export default function (x: number) {\n  return x - 1;\n}\n`,
  "lib/named.ts":
    `export default function named(x: number) {\n  return x - 2;\n}\n\nexport function spare() {\n  return 0;\n}\n`,
};

test("an anonymous default export changes mod:<file>#default", async () => {
  const changes = await changesAfter(DEFAULT, (p) => p.edit("lib/anon.ts", "x - 1", "x - 3"));
  assertEquals(changes, { a: ["mod:lib/anon.ts#default"] });
});

test("a named default export changes mod:<file>#<name>", async () => {
  const changes = await changesAfter(DEFAULT, (p) => p.edit("lib/named.ts", "x - 2", "x - 3"));
  assertEquals(changes, { a: ["mod:lib/named.ts#named"] });
});

test("a non-default export beside a default export changes nothing", async () => {
  const changes = await changesAfter(
    DEFAULT,
    (p) => p.edit("lib/named.ts", "return 0", "return 9"),
  );
  assertEquals(changes, { a: [] });
});

const NESTED = {
  "pipeline.ts": stage(`import * as lib from "./lib/index.ts";`, "lib.math.double(2)"),
  "lib/index.ts": `export * as math from "./math.ts";\nexport * as text from "./text.ts";\n`,
  "lib/math.ts":
    `export function double(x: number) {\n  return x * 2;\n}\n\nexport function half(x: number) {\n  return x / 2;\n}\n`,
  "lib/text.ts": `export const upper = (s: string) => s.toUpperCase();\n`,
};

test("a helper reached through nested namespaces (export * as) changes", async () => {
  const changes = await changesAfter(NESTED, (p) => p.edit("lib/math.ts", "x * 2", "x * 4"));
  assertEquals(changes, { a: ["mod:lib/math.ts#double"] });
});

test("siblings of a helper reached through nested namespaces change nothing", async () => {
  const changes = await changesAfter(NESTED, async (p) => {
    await p.edit("lib/math.ts", "x / 2", "x / 3");
    await p.edit("lib/text.ts", "toUpperCase", "toLowerCase");
  });
  assertEquals(changes, { a: [] });
});
