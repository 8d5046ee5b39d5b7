/**
 * Functions stored into a module-level binding by top-level statements (a
 * command table, a plugin map, a dispatcher) and called through it.
 */

import { assertEquals } from "../_assert.ts";
import { changesAfter } from "./_fingerprint.ts";
import { test } from "../_harness.ts";

const pipeline = (body: string, run: string, imports = "") =>
  `import { loaders, out, Pipeline } from "jsr:@pivot/core";
${imports}
export const pipeline = new Pipeline("t");

${body}

pipeline.stage({
  name: "a",
  outs: { x: out("x.json", loaders.json<unknown>()) },
  run: ${run},
});
`;

const HELPERS = `export function double(x: number) {
  return x * 2;
}

export function spare() {
  return 0;
}
`;

/** Registries filled in the pipeline module; each run reaches `double` only through one. */
const LOCAL_SHAPES: Record<string, { body: string; run: string }> = {
  "Map.set": {
    body:
      `const handlers = new Map<string, (x: number) => number>();\nhandlers.set("double", double);`,
    run: `() => ({ x: handlers.get("double")!(2) })`,
  },
  "an assignment by computed key": {
    body:
      `const KEY = "double";\nconst REGISTRY: Record<string, (x: number) => number> = {};\nREGISTRY[KEY] = (x) => double(x);`,
    run: `() => ({ x: REGISTRY["double"](2) })`,
  },
  "an assignment to a property": {
    body: `const table: Record<string, (x: number) => number> = {};\ntable.double = double;`,
    run: `() => ({ x: table.double(2) })`,
  },
  "Array.push": {
    body: `const plugins: ((x: number) => number)[] = [];\nplugins.push(double);`,
    run: `() => ({ x: plugins.reduce((v, f) => f(v), 1) })`,
  },
  "Object.assign": {
    body: `const ops = { id: (x: number) => x };\nObject.assign(ops, { double });`,
    run: `() => ({ x: (ops as Record<string, (x: number) => number>).double(2) })`,
  },
  "a loop over a list": {
    body:
      `const byName: Record<string, (x: number) => number> = {};\nfor (const f of [double]) byName[f.name] = f;`,
    run: `() => ({ x: byName.double(2) })`,
  },
  "a var declared in a top-level block": {
    body: `if (Deno.args.length >= 0) {\n  var chosen = double;\n}`,
    run: `() => ({ x: chosen(2) })`,
  },
};

for (const [shape, { body, run }] of Object.entries(LOCAL_SHAPES)) {
  const files = {
    "pipeline.ts": pipeline(body, run, `import { double } from "./lib/helpers.ts";`),
    "lib/helpers.ts": HELPERS,
  };

  test(`a function stored by ${shape} is followed`, async () => {
    const changes = await changesAfter(files, (p) => p.edit("lib/helpers.ts", "x * 2", "x * 3"));
    assertEquals(changes, { a: ["mod:lib/helpers.ts#double"] });
  });

  test(`a registry filled by ${shape} does not pull in other helpers`, async () => {
    const changes = await changesAfter(
      files,
      (p) => p.edit("lib/helpers.ts", "return 0", "return 1"),
    );
    assertEquals(changes, { a: [] });
  });
}

test("editing the statement that fills a registry changes <key>+fill", async () => {
  const files = {
    "pipeline.ts": pipeline(
      `const handlers = new Map<string, (x: number) => number>();\nhandlers.set("double", double);`,
      `() => ({ x: handlers.get("double")!(2) })`,
      `import { double } from "./lib/helpers.ts";`,
    ),
    "lib/helpers.ts": HELPERS,
  };
  const changes = await changesAfter(
    files,
    (p) => p.edit("pipeline.ts", `handlers.set("double", double);`, `handlers.set("dbl", double);`),
  );
  assertEquals(changes, { a: ["const:handlers+fill"] });
});

test("a registry filled from another module is followed there", async () => {
  const files = {
    "pipeline.ts": pipeline(
      "",
      `() => ({ x: registry.get("double")!(2) })`,
      `import { registry } from "./lib/registry.ts";\nimport "./lib/plugin.ts";`,
    ),
    "lib/registry.ts": `export const registry = new Map<string, (x: number) => number>();\n`,
    "lib/plugin.ts":
      `import { registry } from "./registry.ts";\nimport { double } from "./helpers.ts";\n\nregistry.set("double", (x) => double(x));\n`,
    "lib/helpers.ts": HELPERS,
  };
  const changes = await changesAfter(files, (p) => p.edit("lib/helpers.ts", "x * 2", "x * 3"));
  assertEquals(changes, { a: ["mod:lib/helpers.ts#double"] });
  const fill = await changesAfter(
    files,
    (p) => p.edit("lib/plugin.ts", "double(x))", "double(x) + 1)"),
  );
  assertEquals(fill, { a: ["mod:lib/registry.ts#registry+fill:lib/plugin.ts"] });
});

test("a method added to an object literal elsewhere counts for its other members too", async () => {
  const files = {
    "pipeline.ts": pipeline(
      `const ops = { scale: (x: number) => x * 2 };\nObject.assign(ops, { scale: double });`,
      `() => ({ x: ops.scale(2) })`,
      `import { double } from "./lib/helpers.ts";`,
    ),
    "lib/helpers.ts": HELPERS,
  };
  const changes = await changesAfter(files, (p) => p.edit("lib/helpers.ts", "x * 2", "x * 3"));
  assertEquals(changes, { a: ["mod:lib/helpers.ts#double"] });
});

test("a stage registered through a factory follows what the module passes it", async () => {
  const files = {
    "pipeline.ts": `import { loaders, out, Pipeline } from "jsr:@pivot/core";
import * as helpers from "./lib/helpers.ts";

export const pipeline = new Pipeline("t");

function add(name: string, run: () => number) {
  pipeline.stage({ name, outs: { x: out(\`\${name}.json\`, loaders.json<number>()) }, run: () => ({ x: run() }) });
}

add("a", () => helpers.double(2));
`,
    "lib/helpers.ts": HELPERS,
  };
  const changes = await changesAfter(files, (p) => p.edit("lib/helpers.ts", "x * 2", "x * 3"));
  assertEquals(changes, { a: ["mod:lib/helpers.ts#double"] });
});

test("stages registered in a loop follow what the loop goes over", async () => {
  const files = {
    "pipeline.ts": `import { loaders, out, Pipeline } from "jsr:@pivot/core";
import { double, spare } from "./lib/helpers.ts";

export const pipeline = new Pipeline("t");

for (const [name, f] of Object.entries({ double, spare })) {
  pipeline.stage({ name, outs: { x: out(\`\${name}.json\`, loaders.json<number>()) }, run: () => ({ x: f(2) }) });
}
`,
    "lib/helpers.ts": HELPERS,
  };
  const changes = await changesAfter(files, (p) => p.edit("lib/helpers.ts", "x * 2", "x * 3"));
  assertEquals(changes, {
    double: ["mod:lib/helpers.ts#double"],
    spare: ["mod:lib/helpers.ts#double"],
  });
});
