/** Module-level values a stage reads: constants (literal, object, array), classes and enums. */

import { changesAfter } from "./_fingerprint.ts";
import { assertEquals } from "../_assert.ts";
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

const CONSTANTS = {
  "pipeline.ts": pipeline(
    `const RATE = 0.1;
const UNUSED = 5;
const CONFIG = { "depth": 3, tags: ["a", "b"] };`,
    "() => ({ x: [RATE, CONFIG.depth, WEIGHTS[0]] })",
    `import { WEIGHTS } from "./lib/weights.ts";`,
  ),
  "lib/weights.ts": `export const WEIGHTS = [1, 2, 3];\nexport const OTHER = [4];\n`,
};

test("a literal constant's value changes const:<name>", async () => {
  const changes = await changesAfter(CONSTANTS, (p) => p.edit("pipeline.ts", "0.1", "0.2"));
  assertEquals(changes, { a: ["const:RATE"] });
});

test("an object literal constant's member the stage reads changes const:<name>.<member>", async () => {
  const changes = await changesAfter(
    CONSTANTS,
    (p) => p.edit("pipeline.ts", '"depth": 3', '"depth": 4'),
  );
  assertEquals(changes, { a: ["const:CONFIG.depth"] });
});

test("an object literal constant's member the stage does not read changes nothing", async () => {
  const changes = await changesAfter(CONSTANTS, (p) => p.edit("pipeline.ts", '"b"]', '"c"]'));
  assertEquals(changes, { a: [] });
});

test("an object literal constant re-quoted and re-formatted changes nothing", async () => {
  const changes = await changesAfter(
    CONSTANTS,
    (p) =>
      p.edit(
        "pipeline.ts",
        `{ "depth": 3, tags: ["a", "b"] }`,
        `{\n  depth: 3,\n  'tags': ['a', 'b'],\n}`,
      ),
  );
  assertEquals(changes, { a: [] });
});

test("an array literal constant in another module changes its mod: key", async () => {
  const changes = await changesAfter(
    CONSTANTS,
    (p) => p.edit("lib/weights.ts", "[1, 2, 3]", "[1, 2, 4]"),
  );
  assertEquals(changes, { a: ["mod:lib/weights.ts#WEIGHTS"] });
});

test("constants the stage does not read change nothing", async () => {
  const changes = await changesAfter(CONSTANTS, async (p) => {
    await p.edit("pipeline.ts", "UNUSED = 5", "UNUSED = 6");
    await p.edit("lib/weights.ts", "[4]", "[5]");
  });
  assertEquals(changes, { a: [] });
});

test("a function held in a constant object literal is followed", async () => {
  const files = {
    "pipeline.ts": pipeline(
      `function inc(x: number) {\n  return x + 1;\n}\nconst OPS = { inc, dec: (x: number) => x - 1 };`,
      "() => ({ x: OPS.inc(1) })",
    ),
  };
  const changes = await changesAfter(files, (p) => p.edit("pipeline.ts", "x + 1", "x + 2"));
  assertEquals(changes, { a: ["func:inc"] });
});

const CLASSES = {
  "pipeline.ts": pipeline(
    "",
    "() => ({ x: new Model(3).predict(2) })",
    `import { Model } from "./lib/model.ts";`,
  ),
  "lib/model.ts": `import { Base } from "./base.ts";

export class Model extends Base {
  bias = 1;
  static readonly kind = "linear";

  constructor(public weight: number) {
    super();
  }

  predict(x: number): number {
    return this.weight * x * this.scale() + this.bias;
  }
}

export class Unused {}
`,
  "lib/base.ts": `export class Base {\n  scale() {\n    return 2;\n  }\n}\n`,
};

test("a class's constructor changes its key", async () => {
  const changes = await changesAfter(
    CLASSES,
    (p) => p.edit("lib/model.ts", "super();", "super();\n    this.weight++;"),
  );
  assertEquals(changes, { a: ["mod:lib/model.ts#Model"] });
});

test("a class's method changes its key", async () => {
  const changes = await changesAfter(
    CLASSES,
    (p) => p.edit("lib/model.ts", "+ this.bias", "- this.bias"),
  );
  assertEquals(changes, { a: ["mod:lib/model.ts#Model"] });
});

test("a class's field initialiser changes its key", async () => {
  const changes = await changesAfter(
    CLASSES,
    (p) => p.edit("lib/model.ts", "bias = 1", "bias = 2"),
  );
  assertEquals(changes, { a: ["mod:lib/model.ts#Model"] });
});

test("a class's static member changes its key", async () => {
  const changes = await changesAfter(
    CLASSES,
    (p) => p.edit("lib/model.ts", '"linear"', '"affine"'),
  );
  assertEquals(changes, { a: ["mod:lib/model.ts#Model"] });
});

test("a base class's method changes the base class's key", async () => {
  const changes = await changesAfter(CLASSES, (p) => p.edit("lib/base.ts", "return 2", "return 3"));
  assertEquals(changes, { a: ["mod:lib/base.ts#Base"] });
});

test("a class's accessibility modifiers and an unused class change nothing", async () => {
  const changes = await changesAfter(CLASSES, async (p) => {
    await p.edit("lib/model.ts", "public weight", "private readonly weight");
    await p.edit("lib/model.ts", "class Unused {}", "class Unused {\n  x = 1;\n}");
  });
  assertEquals(changes, { a: [] });
});

test("a same-module class is keyed class:<name>", async () => {
  const files = {
    "pipeline.ts": pipeline(
      "class Scaler {\n  apply(x: number) {\n    return x * 2;\n  }\n}",
      "() => ({ x: new Scaler().apply(1) })",
    ),
  };
  const changes = await changesAfter(files, (p) => p.edit("pipeline.ts", "x * 2", "x * 3"));
  assertEquals(changes, { a: ["class:Scaler"] });
});

const ENUMS = {
  "pipeline.ts": pipeline(
    `enum Mode {\n  Fast = 1,\n  Slow = 2,\n}\nenum Other {\n  A,\n}`,
    "() => ({ x: Mode.Fast })",
  ),
};

test("an enum's values change const:<name>", async () => {
  const changes = await changesAfter(ENUMS, (p) => p.edit("pipeline.ts", "Fast = 1", "Fast = 3"));
  assertEquals(changes, { a: ["const:Mode"] });
});

test("an enum the stage does not use changes nothing", async () => {
  const changes = await changesAfter(ENUMS, (p) => p.edit("pipeline.ts", "  A,", "  A,\n  B,"));
  assertEquals(changes, { a: [] });
});
