/**
 * SPEC §3 end to end, through the real CLI: which code changes re-run which
 * stages. Functions and modules: the run function's body, helpers in the same
 * module and in imported ones (a chain of three modules, a namespace import,
 * a re-export, `export *`, a default export, a literal dynamic import),
 * another stage's code, unreached code, and renaming the run function.
 */

import { applyEdits, expectNoRuns, expectRuns, reproduced } from "./_change.ts";
import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { test } from "../_harness.ts";

const PIPELINE = `import { loaders, out, Pipeline } from "jsr:@pivot/core";
import { top } from "./lib/a.ts";
import * as u from "./lib/util.ts";
import { reexported } from "./lib/reexport.ts";
import { starred } from "./lib/barrel.ts";
import byDefault from "./lib/default.ts";
import twiceIt from "./lib/named_default.ts";
import { train } from "./lib/stages.ts";

export const pipeline = new Pipeline("code");

function helper(n: number): number {
  return n + 1;
}

function unreached(n: number): number {
  return n - 1;
}

pipeline.stage({
  name: "body",
  outs: { o: out("out/body.json", loaders.json<number>()) },
  run: () => ({ o: 1 }),
});

pipeline.stage({
  name: "helper",
  outs: { o: out("out/helper.json", loaders.json<number>()) },
  run: () => ({ o: helper(1) }),
});

pipeline.stage({
  name: "chain",
  outs: { o: out("out/chain.json", loaders.json<number>()) },
  run: () => ({ o: top(1) }),
});

pipeline.stage({
  name: "namespace",
  outs: { o: out("out/namespace.json", loaders.json<number>()) },
  run: () => ({ o: u.scale(2) }),
});

pipeline.stage({
  name: "reexport",
  outs: { o: out("out/reexport.json", loaders.json<number>()) },
  run: () => ({ o: reexported(3) }),
});

pipeline.stage({
  name: "star",
  outs: { o: out("out/star.json", loaders.json<number>()) },
  run: () => ({ o: starred(4) }),
});

pipeline.stage({
  name: "default",
  outs: { o: out("out/default.json", loaders.json<number>()) },
  run: () => ({ o: byDefault(5) }),
});

pipeline.stage({
  name: "named-default",
  outs: { o: out("out/named-default.json", loaders.json<number>()) },
  run: () => ({ o: twiceIt(5) }),
});

pipeline.stage({
  name: "dynamic",
  outs: { o: out("out/dynamic.json", loaders.json<number>()) },
  run: async () => {
    const { lazy } = await import("./lib/lazy.ts");
    return { o: lazy(6) };
  },
});

pipeline.stage({
  name: "dynamic-object",
  outs: { o: out("out/dynamic-object.json", loaders.json<number>()) },
  run: async () => {
    const mod = await import("./lib/lazy.ts");
    return { o: mod.lazy(1) };
  },
});

pipeline.stage({
  name: "producer",
  outs: { o: out("out/producer.json", loaders.json<number>()) },
  run: produce,
});

export function produce(): { o: number } {
  return { o: 7 };
}

pipeline.stage({
  name: "caller",
  outs: { o: out("out/caller.json", loaders.json<number>()) },
  run: () => ({ o: produce().o + 1 }),
});

pipeline.stage({
  name: "named",
  outs: { o: out("out/named.json", loaders.json<number>()) },
  run: namedRun,
});

function namedRun(): { o: number } {
  return { o: 8 };
}

pipeline.stage({
  name: "imported",
  outs: { o: out("out/imported.json", loaders.json<number>()) },
  run: train,
});

pipeline.stage({
  name: "expression",
  outs: { o: out("out/expression.json", loaders.json<number>()) },
  run: function expressionRun() {
    return { o: 9 };
  },
});
`;

const FILES = {
  "pipeline.ts": PIPELINE,
  // A chain of three modules: a → b → c.
  "lib/a.ts": `import { middle } from "./b.ts";

export function top(n: number): number {
  return middle(n) + 1;
}
`,
  "lib/b.ts": `import { deep } from "./c.ts";

export function middle(n: number): number {
  return deep(n) * 2;
}
`,
  "lib/c.ts": `export function sibling(n: number): number {
  return n * 100;
}

export function deep(n: number): number {
  return n + 3;
}
`,
  "lib/util.ts": `export function scale(n: number): number {
  return n * 10;
}

export function unused(n: number): number {
  return n * 20;
}
`,
  "lib/impl.ts": `export function impl(n: number): number {
  return n - 1;
}

export function other(n: number): number {
  return n - 2;
}
`,
  "lib/reexport.ts": `export { impl as reexported } from "./impl.ts";
`,
  "lib/star.ts": `export function starred(n: number): number {
  return n * 3;
}

export function notStarred(n: number): number {
  return n * 4;
}
`,
  "lib/barrel.ts": `export * from "./star.ts";
`,
  "lib/default.ts": `export default function (n: number): number {
  return n + 50;
}

export function beside(n: number): number {
  return n + 60;
}
`,
  "lib/named_default.ts": `export default function twice(n: number): number {
  return n * 2;
}
`,
  "lib/stages.ts": `export function train(): { o: number } {
  return { o: 11 };
}
`,
  "lib/lazy.ts": `export function lazy(n: number): number {
  return n * 7;
}

export function notLoaded(n: number): number {
  return n * 8;
}
`,
};

test("code changes re-run exactly the stages that reach them", async (t) => {
  await using p = await reproduced(FILES);
  await t.step("body of the run function; no: the other stages' code", async () => {
    await expectRuns(p, [{ file: "pipeline.ts", from: "({ o: 1 })", to: "({ o: 10 })" }], {
      body: { code: [{ key: "self:run", file: "pipeline.ts", line: "run: () => ({ o: 10 })" }] },
    });
  });

  await t.step("a helper it calls in the same module", async () => {
    await expectRuns(p, [{ file: "pipeline.ts", from: "n + 1", to: "n + 2" }], {
      helper: { code: [{ key: "func:helper", file: "pipeline.ts", line: "function helper(" }] },
    });
  });

  await t.step("a helper at depth 3: a → b → c, change in c", async () => {
    const edit = { file: "lib/c.ts", from: "n + 3", to: "n + 4" };
    await expectRuns(p, [edit], {
      chain: { code: [{ key: "mod:lib/c.ts#deep", file: "lib/c.ts", line: "function deep(" }] },
    }, async () => assertEquals(JSON.parse(await p.read("out/chain.json")), 11));
    // Undone, the earlier output is back (from the run cache).
    assertEquals(JSON.parse(await p.read("out/chain.json")), 9);
  });

  await t.step("a helper reached through import * as u and u.fn()", async () => {
    await expectRuns(p, [{ file: "lib/util.ts", from: "n * 10", to: "n * 11" }], {
      namespace: {
        code: [{ key: "mod:lib/util.ts#scale", file: "lib/util.ts", line: "function scale(" }],
      },
    });
  });

  await t.step(
    "a helper reached through a re-export (export { impl as reexported })",
    async () => {
      await expectRuns(p, [{ file: "lib/impl.ts", from: "n - 1", to: "n - 10" }], {
        reexport: {
          code: [{ key: "mod:lib/impl.ts#impl", file: "lib/impl.ts", line: "function impl(" }],
        },
      });
    },
  );

  await t.step("a helper reached through export *", async () => {
    await expectRuns(p, [{ file: "lib/star.ts", from: "n * 3", to: "n * 30" }], {
      star: {
        code: [{
          key: "mod:lib/star.ts#starred",
          file: "lib/star.ts",
          line: "function starred(",
        }],
      },
    });
  });

  await t.step("a helper reached through a default export", async () => {
    await expectRuns(p, [{ file: "lib/default.ts", from: "n + 50", to: "n + 51" }], {
      default: {
        code: [{
          key: "mod:lib/default.ts#default",
          file: "lib/default.ts",
          line: "export default function",
        }],
      },
    });
  });

  await t.step(
    "a helper reached through a named default export, imported as another name",
    async () => {
      await expectRuns(p, [{ file: "lib/named_default.ts", from: "n * 2", to: "n * 3" }], {
        "named-default": {
          code: [{
            key: "mod:lib/named_default.ts#twice",
            file: "lib/named_default.ts",
            line: "export default function twice",
          }],
        },
      }, async () => assertEquals(JSON.parse(await p.read("out/named-default.json")), 15));
    },
  );

  await t.step("a helper reached only through a literal await import()", async () => {
    const lazy = { key: "mod:lib/lazy.ts#lazy", file: "lib/lazy.ts", line: "function lazy(" };
    // Destructured (`const { lazy } = await import(…)`) and as a module object (`mod.lazy`).
    await expectRuns(p, [{ file: "lib/lazy.ts", from: "n * 7", to: "n * 70" }], {
      dynamic: { code: [lazy] },
      "dynamic-object": { code: [lazy] },
    }, async () => assertEquals(JSON.parse(await p.read("out/dynamic.json")), 420));
  });

  await t.step("another stage's run function, called by this stage: both re-run", async () => {
    await expectRuns(p, [{ file: "pipeline.ts", from: "{ o: 7 }", to: "{ o: 70 }" }], {
      producer: {
        code: [{ key: "self:run", file: "pipeline.ts", line: "export function produce(" }],
      },
      caller: {
        code: [{ key: "func:produce", file: "pipeline.ts", line: "export function produce(" }],
      },
    }, async () => assertEquals(JSON.parse(await p.read("out/caller.json")), 71));
  });

  await t.step("no: code in the same file that no stage reaches", async () => {
    await expectNoRuns(p, [{ file: "pipeline.ts", from: "n - 1", to: "n - 2" }]);
  });

  await t.step("no: an unreached function beside the depth-3 helper", async () => {
    await expectNoRuns(p, [{ file: "lib/c.ts", from: "n * 100", to: "n * 101" }]);
  });

  await t.step("no: another export of a namespace-imported module", async () => {
    await expectNoRuns(p, [{ file: "lib/util.ts", from: "n * 20", to: "n * 21" }]);
  });

  await t.step("no: an export the re-export does not name", async () => {
    await expectNoRuns(p, [{ file: "lib/impl.ts", from: "n - 2", to: "n - 3" }]);
  });

  await t.step("no: another export behind export *", async () => {
    await expectNoRuns(p, [{ file: "lib/star.ts", from: "n * 4", to: "n * 5" }]);
  });

  await t.step("no: a named export beside the default export", async () => {
    await expectNoRuns(p, [{ file: "lib/default.ts", from: "n + 60", to: "n + 61" }]);
  });

  await t.step("no: an export the dynamic imports do not use", async () => {
    await expectNoRuns(p, [{ file: "lib/lazy.ts", from: "n * 8", to: "n * 9" }]);
  });

  await t.step("no: renaming the stage's run function declaration", async () => {
    await expectNoRuns(p, [{ file: "pipeline.ts", from: /namedRun/g, to: "renamedRun" }]);
  });

  await t.step("no: renaming the stage's named function expression", async () => {
    await expectNoRuns(p, [{
      file: "pipeline.ts",
      from: "function expressionRun()",
      to: "function otherName()",
    }]);
  });

  await t.step("no: renaming an imported run function (export and import)", async () => {
    await expectNoRuns(p, [
      { file: "lib/stages.ts", from: "function train", to: "function fit" },
      { file: "pipeline.ts", from: /\btrain\b/g, to: "fit" },
    ]);
  });

  await t.step("status --explain shows the key, old -> new and file:line", async () => {
    const revert = await applyEdits(p, [{ file: "lib/c.ts", from: "n + 3", to: "n + 5" }]);
    try {
      const json = await p.status();
      const chain = json.stages.find((s) => s.name === "chain")!;
      const [change] = chain.changes.code as { old: string; new: string }[];
      const explain = await p.pivot("status", "--explain");
      assertEquals(explain.code, 0, explain.stderr);
      assertMatch(explain.stdout, /Stage: chain\n\s+Status: WILL RUN\n\s+Reasons: code\n/);
      const line = `mod:lib/c.ts#deep  ${change.old.slice(0, 8)} -> ${
        change.new.slice(0, 8)
      }  lib/c.ts:5`;
      assert(explain.stdout.includes(line), `${line}\nnot in\n${explain.stdout}`);
      // Only the edited stage is explained as changed.
      assertEquals(explain.stdout.match(/WILL RUN/g)?.length, 1, explain.stdout);
    } finally {
      await revert();
    }
  });
});
