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

/** Each run function uses `heavy` only; `spare` must stay out, `heavy` must be in. */
const PROMISE_SHAPES: Record<string, string> = {
  "a `.then` callback's parameter": `() =>
    import("./lib/lazy.ts").then((m) => ({ x: m.heavy(3) }))`,
  "a `.then` callback's destructured parameter": `() =>
    import("./lib/lazy.ts").then(({ heavy }) => ({ x: heavy(3) }))`,
  "a `.then` after `.catch`": `() =>
    import("./lib/lazy.ts").catch(() => Deno.exit(1)).then(function (m) { return { x: m.heavy(3) }; })`,
  "`Promise.all` destructured": `async () => {
    const [lazy, other] = await Promise.all([import("./lib/lazy.ts"), import("./lib/other.ts")]);
    return { x: lazy.heavy(3) + other.one() };
  }`,
  "`Promise.all` then a callback": `() =>
    Promise.all([import("./lib/other.ts"), import("./lib/lazy.ts")])
      .then(([, { heavy }]) => ({ x: heavy(3) }))`,
  "a promise stored in a variable and awaited later": `async () => {
    const pending = import("./lib/lazy.ts");
    const before = 1;
    const lazy = await pending;
    return { x: lazy.heavy(before) };
  }`,
  "a stored promise's `.then`": `async () => {
    const pending = import("./lib/lazy.ts");
    return { x: await pending.then((m) => m.heavy(3)) };
  }`,
};

const OTHER = `export function one() {\n  return 1;\n}\n`;

for (const [shape, run] of Object.entries(PROMISE_SHAPES)) {
  const files = { "pipeline.ts": pipeline(run), "lib/lazy.ts": LAZY, "lib/other.ts": OTHER };

  test(`a module reached through ${shape} tracks the member used`, async () => {
    const changes = await changesAfter(files, (p) => p.edit("lib/lazy.ts", "x ** 2", "x ** 3"));
    assertEquals(changes, { a: ["mod:lib/lazy.ts#heavy"] });
  });

  test(`a module reached through ${shape} leaves out members not used`, async () => {
    const changes = await changesAfter(files, (p) => p.edit("lib/lazy.ts", "return 0", "return 1"));
    assertEquals(changes, { a: [] });
  });
}

test("a module passed on from a `.then` callback tracks every export", async () => {
  const files = {
    "pipeline.ts": pipeline(`() =>
    import("./lib/lazy.ts").then((m) => ({ x: Object.keys(m).length }))`),
    "lib/lazy.ts": LAZY,
  };
  const changes = await changesAfter(files, (p) => p.edit("lib/lazy.ts", "return 0", "return 1"));
  assertEquals(changes, { a: ["mod:lib/lazy.ts#spare"] });
});

test("a `.then` callback that is not a function literal tracks every export", async () => {
  const files = {
    "pipeline.ts": pipeline(`() =>
    import("./lib/lazy.ts").then(useAll).then(() => ({ x: 1 }))`).replace(
      "pipeline.stage",
      "function useAll(m: object) {\n  return Object.keys(m);\n}\n\npipeline.stage",
    ),
    "lib/lazy.ts": LAZY,
  };
  const changes = await changesAfter(files, (p) => p.edit("lib/lazy.ts", "return 0", "return 1"));
  assertEquals(changes, { a: ["mod:lib/lazy.ts#spare"] });
});
