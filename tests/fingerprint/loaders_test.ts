/** Loaders: a custom loader's code and options, a built-in loader's options. */

import { changesAfter } from "./_fingerprint.ts";
import { assertEquals } from "../_assert.ts";
import { test } from "../_harness.ts";

const PIPELINE = `import { dep, loaders, out, Pipeline, type Loader } from "jsr:@pivot/core";
import { Lines } from "./lib/lines.ts";

export const pipeline = new Pipeline("t");

const upper = {
  load: (path: string) => Deno.readTextFileSync(path).toUpperCase(),
  save: (value: string, path: string) => Deno.writeTextFileSync(path, value),
} satisfies Loader<string>;

pipeline.stage({
  name: "a",
  deps: {
    rows: dep("rows.txt", new Lines(",")),
    table: dep("table.csv", loaders.csv({ separator: ";" })),
  },
  outs: { shout: out("shout.txt", upper) },
  run: ({ rows, table }) => ({ shout: rows.join("") + table.length }),
});
`;

const LINES = `export class Lines {
  constructor(readonly separator: string) {}

  load(path: string): string[] {
    return Deno.readTextFileSync(path).split(this.separator);
  }

  save(value: string[], path: string): void {
    Deno.writeTextFileSync(path, value.join(this.separator));
  }
}
`;

const files = { "pipeline.ts": PIPELINE, "lib/lines.ts": LINES };

test("a custom loader class's code changes its class key", async () => {
  const changes = await changesAfter(
    files,
    (p) => p.edit("lib/lines.ts", ".split(this.separator)", ".split(this.separator).reverse()"),
  );
  assertEquals(changes, { a: ["mod:lib/lines.ts#Lines"] });
});

test("a custom loader's options change loader:<dep>", async () => {
  const changes = await changesAfter(
    files,
    (p) => p.edit("pipeline.ts", 'new Lines(",")', 'new Lines("\\t")'),
  );
  assertEquals(changes, { a: ["loader:rows"] });
});

test("an object-literal custom loader's code changes what holds it", async () => {
  const changes = await changesAfter(
    files,
    (p) => p.edit("pipeline.ts", ".toUpperCase()", ".toLowerCase()"),
  );
  assertEquals(changes, { a: ["const:upper"] });
});

test("an inline custom loader's code changes loader:<out>", async () => {
  const inline = PIPELINE.replace(
    'shout: out("shout.txt", upper)',
    'shout: out("shout.txt", { save: (v: string, p: string) => Deno.writeTextFileSync(p, v) })',
  );
  const changes = await changesAfter(
    { ...files, "pipeline.ts": inline },
    (p) => p.edit("pipeline.ts", "writeTextFileSync(p, v)", "writeTextFileSync(p, v + v)"),
  );
  assertEquals(changes, { a: ["loader:shout"] });
});

test("a built-in loader's options change loader:<dep>", async () => {
  const changes = await changesAfter(
    files,
    (p) => p.edit("pipeline.ts", 'separator: ";"', 'separator: "|"'),
  );
  assertEquals(changes, { a: ["loader:table"] });
});

test("a built-in loader rewritten with the same options changes nothing", async () => {
  const changes = await changesAfter(
    files,
    (p) =>
      p.edit(
        "pipeline.ts",
        'loaders.csv({ separator: ";" })',
        "loaders.csv({\n      'separator': ';',\n    })",
      ),
  );
  assertEquals(changes, { a: [] });
});

test("a custom loader's unused method in another class changes nothing", async () => {
  const changes = await changesAfter(
    files,
    (p) =>
      p.edit(
        "lib/lines.ts",
        "export class Lines",
        "export class Spare {\n  x = 1;\n}\n\nexport class Lines",
      ),
  );
  assertEquals(changes, { a: [] });
});
