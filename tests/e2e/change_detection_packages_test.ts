/**
 * SPEC §3 end to end, through the real CLI: loaders (a custom loader's code
 * and options, a built-in loader's options) and npm package versions (a
 * version bump in the import map re-runs only the stages that use the
 * package, directly or through a helper module).
 */

import { expectNoRuns, expectRuns, reproduced } from "./_change.ts";
import { assertEquals } from "../_assert.ts";
import { test } from "../_harness.ts";

const PIPELINE = `import { dep, loaders, out, Pipeline } from "jsr:@pivot/core";
import isNumber from "is-number";
import { Lines } from "./lib/lines.ts";
import { countNumbers } from "./lib/check.ts";

export const pipeline = new Pipeline("packages");

pipeline.stage({
  name: "custom",
  deps: { rows: dep("data/rows.txt", new Lines(",")) },
  outs: { joined: out("out/custom.json", loaders.json<string>()) },
  run: ({ rows }) => ({ joined: rows.join("|") }),
});

pipeline.stage({
  name: "inline",
  outs: {
    shout: out("out/inline.txt", {
      save: (value: string, path: string) => Deno.writeTextFileSync(path, value.toUpperCase()),
    }),
  },
  run: () => ({ shout: "quiet" }),
});

pipeline.stage({
  name: "json",
  outs: { doc: out("out/json.json", loaders.json<{ a: number[] }>({ indent: 2 })) },
  run: () => ({ doc: { a: [1, 2] } }),
});

pipeline.stage({
  name: "csv",
  deps: { table: dep("data/table.csv", loaders.csv()) },
  outs: { columns: out("out/csv.json", loaders.json<number>()) },
  run: ({ table }) => ({ columns: Object.keys(table[0]).length }),
});

pipeline.stage({
  name: "npm",
  outs: { flag: out("out/npm.json", loaders.json<boolean>()) },
  run: () => ({ flag: isNumber("3") }),
});

pipeline.stage({
  name: "npm-helper",
  outs: { count: out("out/npm-helper.json", loaders.json<number>()) },
  run: () => ({ count: countNumbers(["1", "x", "2"]) }),
});

pipeline.stage({
  name: "no-npm",
  outs: { n: out("out/no-npm.json", loaders.json<number>()) },
  run: () => ({ n: 1 }),
});
`;

const FILES = {
  "pipeline.ts": PIPELINE,
  "lib/lines.ts": `export class Lines {
  constructor(readonly separator: string) {}

  load(path: string): string[] {
    return Deno.readTextFileSync(path).trim().split(this.separator);
  }

  save(value: string[], path: string): void {
    Deno.writeTextFileSync(path, value.join(this.separator));
  }
}

export class Unused {
  load(path: string): string {
    return Deno.readTextFileSync(path);
  }
}
`,
  "lib/check.ts": `import isNumber from "is-number";

export function countNumbers(values: string[]): number {
  return values.filter((v) => isNumber(v)).length;
}
`,
  "data/rows.txt": "a,b;c\n",
  "data/table.csv": "x;y;z\n1;2;3\n",
};

const IS_NUMBER = { "is-number": "npm:is-number@7.0.0" };

test("loaders: a custom loader's code and options, a built-in loader's options", async (t) => {
  await using p = await reproduced(FILES, { imports: IS_NUMBER });
  const read = async (file: string) => await p.read(`out/${file}`);
  await t.step("a custom loader's code (its class)", async () => {
    await expectRuns(
      p,
      [{ file: "lib/lines.ts", from: ".trim()", to: ".trim().toUpperCase()" }],
      {
        custom: {
          code: [{ key: "mod:lib/lines.ts#Lines", file: "lib/lines.ts", line: "class Lines" }],
        },
      },
      async () => assertEquals(JSON.parse(await read("custom.json")), "A|B;C"),
    );
  });

  await t.step("a custom loader's options", async () => {
    await expectRuns(p, [{ file: "pipeline.ts", from: 'new Lines(",")', to: 'new Lines(";")' }], {
      custom: { code: [{ key: "loader:rows", file: "pipeline.ts", line: "new Lines(" }] },
    }, async () => assertEquals(JSON.parse(await read("custom.json")), "a,b|c"));
  });

  await t.step("an inline custom loader's code", async () => {
    await expectRuns(p, [{ file: "pipeline.ts", from: "toUpperCase()),", to: "trim())," }], {
      inline: { code: [{ key: "loader:shout", file: "pipeline.ts", line: "shout: out(" }] },
    }, async () => assertEquals(await read("inline.txt"), "quiet"));
  });

  await t.step("a built-in loader's options: json({ indent })", async () => {
    await expectRuns(
      p,
      [{ file: "pipeline.ts", from: "{ indent: 2 }", to: "{ indent: 4 }" }],
      {
        json: { code: [{ key: "loader:doc", file: "pipeline.ts", line: "{ indent: 4 }" }] },
      },
      async () =>
        assertEquals(await read("json.json"), '{\n    "a": [\n        1,\n        2\n    ]\n}\n'),
    );
  });

  await t.step("a built-in loader's options: csv({ separator })", async () => {
    await expectRuns(p, [{
      file: "pipeline.ts",
      from: "loaders.csv()",
      to: 'loaders.csv({ separator: ";" })',
    }], {
      csv: { code: [{ key: "loader:table", file: "pipeline.ts", line: "loaders.csv(" }] },
    }, async () => assertEquals(JSON.parse(await read("csv.json")), 3));
  });

  await t.step("no: a built-in loader restating its default options", async () => {
    await expectNoRuns(p, [{
      file: "pipeline.ts",
      from: "loaders.csv()",
      to: 'loaders.csv({ separator: "," })',
    }]);
  });

  await t.step("no: another class beside the custom loader's", async () => {
    await expectNoRuns(p, [{
      file: "lib/lines.ts",
      from: "return Deno.readTextFileSync(path);",
      to: "return Deno.readTextFileSync(path).trim();",
    }]);
  });
});

test("npm packages: a version bump re-runs only the stages that use the package", async (t) => {
  await using p = await reproduced(FILES, { imports: IS_NUMBER });
  await t.step("is-number 7.0.0 → 6.0.0 in deno.json (and back)", async () => {
    await expectRuns(
      p,
      [{ file: "deno.json", from: "npm:is-number@7.0.0", to: "npm:is-number@6.0.0" }],
      {
        npm: { code: [{ key: "npm:is-number", file: "pipeline.ts", line: 'from "is-number"' }] },
        "npm-helper": {
          code: [{ key: "npm:is-number", file: "lib/check.ts", line: 'from "is-number"' }],
        },
      },
      async () =>
        assertEquals(
          JSON.parse(await p.read("deno.lock")).specifiers["npm:is-number@6.0.0"],
          "6.0.0",
        ),
    );
  });

  await t.step("no: a deno.json edit that keeps the resolved version", async () => {
    await expectNoRuns(p, [{
      file: "deno.json",
      from: '"imports": {',
      to: '"imports": {\n    "unused": "npm:is-number@6.0.0",',
    }]);
  });
});
