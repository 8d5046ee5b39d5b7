/**
 * SPEC §3 end to end, through the real CLI: module-level constants (literal,
 * object and array literals), classes (constructor, method, field
 * initialiser, base class), enums, and params (default in code, schema
 * default, `params.yaml`), which re-run as params, not as code.
 */

import { expectNoRuns, expectRuns, reproduced } from "./_change.ts";
import { assertEquals } from "../_assert.ts";
import { test } from "../_harness.ts";

const PIPELINE = `import { loaders, out, Pipeline } from "jsr:@pivot/core";
import { WEIGHTS } from "./lib/weights.ts";
import { Base } from "./lib/base.ts";

export const pipeline = new Pipeline("values");

const RATE = 2;
const CONFIG = { depth: 3, tags: ["a", "b"] };
const UNREAD = 5;

enum Mode {
  Fast = "fast",
  Slow = "slow",
}

enum Unused {
  A,
  B,
}

class Scaler {
  offset = 1;

  constructor(readonly k: number) {
    this.k = k * 2;
  }

  scale(x: number): number {
    return x * this.k + this.offset;
  }
}

class Derived extends Base {
  extra(): number {
    return this.value() + 1;
  }
}

pipeline.stage({
  name: "literal",
  outs: { o: out("out/literal.json", loaders.json<number>()) },
  run: () => ({ o: RATE * 10 }),
});

pipeline.stage({
  name: "object",
  outs: { o: out("out/object.json", loaders.json<string>()) },
  run: () => ({ o: CONFIG.tags.join("") + CONFIG.depth }),
});

pipeline.stage({
  name: "array",
  outs: { o: out("out/array.json", loaders.json<number>()) },
  run: () => ({ o: WEIGHTS.reduce((a, b) => a + b, 0) }),
});

pipeline.stage({
  name: "enum",
  outs: { o: out("out/enum.json", loaders.json<string>()) },
  run: () => ({ o: Mode.Fast }),
});

pipeline.stage({
  name: "class",
  outs: { o: out("out/class.json", loaders.json<number>()) },
  run: () => ({ o: new Scaler(3).scale(2) }),
});

pipeline.stage({
  name: "derived",
  outs: { o: out("out/derived.json", loaders.json<number>()) },
  run: () => ({ o: new Derived().extra() }),
});
`;

const FILES = {
  "pipeline.ts": PIPELINE,
  "lib/weights.ts": `export const WEIGHTS = [1, 2, 3];
export const OTHER_WEIGHTS = [4, 5];
`,
  "lib/base.ts": `export class Base {
  value(): number {
    return 40;
  }
}

export class Unrelated {
  value(): number {
    return 50;
  }
}
`,
};

const out = (name: string) => `out/${name}.json`;

test("constants, classes and enums re-run the stages that use them", async (t) => {
  await using p = await reproduced(FILES);
  const read = async (name: string) => JSON.parse(await p.read(out(name)));
  await t.step("a literal constant it reads", async () => {
    await expectRuns(p, [{ file: "pipeline.ts", from: "RATE = 2", to: "RATE = 3" }], {
      literal: { code: [{ key: "const:RATE", file: "pipeline.ts", line: "const RATE" }] },
    }, async () => assertEquals(await read("literal"), 30));
  });

  await t.step("an object literal constant it reads (a nested value)", async () => {
    await expectRuns(p, [{ file: "pipeline.ts", from: '"b"]', to: '"c"]' }], {
      object: { code: [{ key: "const:CONFIG.tags", file: "pipeline.ts", line: "const CONFIG" }] },
    }, async () => assertEquals(await read("object"), "ac3"));
  });

  await t.step("an array literal constant it reads, in another module", async () => {
    await expectRuns(p, [{ file: "lib/weights.ts", from: "[1, 2, 3]", to: "[1, 2, 4]" }], {
      array: {
        code: [{ key: "mod:lib/weights.ts#WEIGHTS", file: "lib/weights.ts", line: "WEIGHTS =" }],
      },
    }, async () => assertEquals(await read("array"), 7));
  });

  await t.step("an enum it uses", async () => {
    await expectRuns(p, [{ file: "pipeline.ts", from: 'Fast = "fast"', to: 'Fast = "quick"' }], {
      enum: { code: [{ key: "const:Mode", file: "pipeline.ts", line: "enum Mode" }] },
    }, async () => assertEquals(await read("enum"), "quick"));
  });

  const classEdits: [string, string, string, number][] = [
    ["constructor", "this.k = k * 2;", "this.k = k * 3;", 19],
    ["method", "x * this.k + this.offset", "x * this.k - this.offset", 11],
    ["field initialiser", "offset = 1;", "offset = 2;", 14],
  ];
  for (const [what, from, to, result] of classEdits) {
    await t.step(`a class it uses: its ${what}`, async () => {
      await expectRuns(p, [{ file: "pipeline.ts", from, to }], {
        class: { code: [{ key: "class:Scaler", file: "pipeline.ts", line: "class Scaler" }] },
      }, async () => assertEquals(await read("class"), result));
    });
  }

  await t.step("a class it uses: its base class, in another module", async () => {
    await expectRuns(p, [{ file: "lib/base.ts", from: "return 40", to: "return 41" }], {
      derived: {
        code: [{ key: "mod:lib/base.ts#Base", file: "lib/base.ts", line: "class Base" }],
      },
    }, async () => assertEquals(await read("derived"), 42));
  });

  await t.step("no: a constant no stage reads", async () => {
    await expectNoRuns(p, [{ file: "pipeline.ts", from: "UNREAD = 5", to: "UNREAD = 6" }]);
  });

  await t.step("no: an array constant beside the one it reads", async () => {
    await expectNoRuns(p, [{ file: "lib/weights.ts", from: "[4, 5]", to: "[4, 6]" }]);
  });

  await t.step("no: an enum no stage uses", async () => {
    await expectNoRuns(p, [{ file: "pipeline.ts", from: "  B,\n", to: "  B,\n  C,\n" }]);
  });

  await t.step("no: a class beside the base class", async () => {
    await expectNoRuns(p, [{ file: "lib/base.ts", from: "return 50", to: "return 51" }]);
  });
});

const PARAMS_PIPELINE = `import { loaders, out, Pipeline } from "jsr:@pivot/core";
import { z } from "zod";

export const pipeline = new Pipeline("params");

pipeline.stage({
  name: "plain",
  outs: { o: out("out/plain.json", loaders.json<number>()) },
  params: { n: 1, opt: { lr: 0.5 } },
  run: (_deps, { params }) => ({ o: params.n * params.opt.lr }),
});

pipeline.stage({
  name: "schema",
  outs: { o: out("out/schema.json", loaders.json<number>()) },
  params: z.object({ lr: z.number().default(0.1), epochs: z.number().int().default(3) }),
  run: (_deps, { params }) => ({ o: params.lr * params.epochs }),
});

pipeline.stage({
  name: "other",
  outs: { o: out("out/other.json", loaders.json<number>()) },
  params: { n: 1 },
  run: (_deps, { params }) => ({ o: params.n }),
});
`;

test("params re-run as params, not as code", async (t) => {
  await using p = await reproduced({ "pipeline.ts": PARAMS_PIPELINE }, {
    imports: { zod: "npm:zod@4.6.7" },
  });
  const read = async (name: string) => JSON.parse(await p.read(out(name)));
  await t.step("a default in code", async () => {
    await expectRuns(p, [{ file: "pipeline.ts", from: "lr: 0.5", to: "lr: 0.25" }], {
      plain: { params: [{ key: "opt.lr", old: 0.5, new: 0.25 }] },
    }, async () => assertEquals(await read("plain"), 0.25));
  });

  await t.step("a Standard Schema default", async () => {
    await expectRuns(p, [{ file: "pipeline.ts", from: "default(3)", to: "default(4)" }], {
      schema: { params: [{ key: "epochs", old: 3, new: 4 }] },
    }, async () => assertEquals(await read("schema"), 0.4));
  });

  await t.step("a value in params.yaml", async () => {
    await expectRuns(p, [{ file: "params.yaml", write: "plain:\n  n: 4\n" }], {
      plain: { params: [{ key: "n", old: 1, new: 4 }] },
    }, async () => assertEquals(await read("plain"), 2));
  });

  await t.step("no: params.yaml restating the defaults", async () => {
    await expectNoRuns(p, [{
      file: "params.yaml",
      write: "plain:\n  n: 1\n  opt:\n    lr: 0.5\nschema:\n  lr: 0.1\n",
    }]);
  });
});
