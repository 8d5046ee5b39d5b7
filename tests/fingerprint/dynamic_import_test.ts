/** Helpers reached only through a literal `await import("./x.ts")`. */

import { changesAfter } from "./_fingerprint.ts";
import { assertEquals } from "../_assert.ts";
import { test } from "../_harness.ts";

const pipeline = (run: string) =>
  `import { loaders, out, Pipeline } from "jsr:@pivot/core";

export const pipeline = new Pipeline("t");

pipeline.stage({
  name: "a",
  outs: { x: out("x.json", loaders.json<number>()) },
  run: ${run},
});
`;

const LAZY =
  `export function heavy(x: number) {\n  return x ** 2;\n}\n\nexport function spare() {\n  return 0;\n}\n`;

const DESTRUCTURED = {
  "pipeline.ts": pipeline(`async () => {
    const { heavy } = await import("./lib/lazy.ts");
    return { x: heavy(3) };
  }`),
  "lib/lazy.ts": LAZY,
};

test("a helper reached only through a literal dynamic import changes", async () => {
  const changes = await changesAfter(
    DESTRUCTURED,
    (p) => p.edit("lib/lazy.ts", "x ** 2", "x ** 3"),
  );
  assertEquals(changes, { a: ["mod:lib/lazy.ts#heavy"] });
});

test("an export the dynamic import does not destructure changes nothing", async () => {
  const changes = await changesAfter(
    DESTRUCTURED,
    (p) => p.edit("lib/lazy.ts", "return 0", "return 1"),
  );
  assertEquals(changes, { a: [] });
});

test("a dynamically imported module used as a whole tracks every export", async () => {
  const files = {
    "pipeline.ts": pipeline(`async () => {
    const lazy = await import("./lib/lazy.ts");
    return { x: lazy.heavy(3) };
  }`),
    "lib/lazy.ts": LAZY,
  };
  const changes = await changesAfter(files, (p) => p.edit("lib/lazy.ts", "x ** 2", "x ** 3"));
  assertEquals(changes, { a: ["mod:lib/lazy.ts#heavy"] });
});

const MODULE_OBJECT = {
  "pipeline.ts": pipeline(`async () => {
    const lazy = await import("./lib/lazy.ts");
    return { x: lazy.heavy(3) + lazy["heavy"](1) };
  }`),
  "lib/lazy.ts": LAZY,
};

test("a module object bound to a const counts the members read from it", async () => {
  const changes = await changesAfter(
    MODULE_OBJECT,
    (p) => p.edit("lib/lazy.ts", "x ** 2", "x ** 3"),
  );
  assertEquals(changes, { a: ["mod:lib/lazy.ts#heavy"] });
});

test("an export never read from a module object bound to a const changes nothing", async () => {
  const changes = await changesAfter(
    MODULE_OBJECT,
    (p) => p.edit("lib/lazy.ts", "return 0", "return 1"),
  );
  assertEquals(changes, { a: [] });
});

test("a module object bound to a const and passed on tracks every export", async () => {
  const files = {
    "pipeline.ts": pipeline(`async () => {
    const lazy = await import("./lib/lazy.ts");
    return { x: Object.keys(lazy).length + lazy.heavy(1) };
  }`),
    "lib/lazy.ts": LAZY,
  };
  const changes = await changesAfter(files, (p) => p.edit("lib/lazy.ts", "return 0", "return 1"));
  assertEquals(changes, { a: ["mod:lib/lazy.ts#spare"] });
});
