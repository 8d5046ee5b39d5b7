/** Manifest locations point at the code, for `status --explain`. */

import { fingerprint, fingerprintProject } from "./_fingerprint.ts";
import { assertEquals } from "../_assert.ts";
import { test } from "../_harness.ts";

test("locations point to the file and line of each piece of code", async () => {
  await using project = await fingerprintProject({
    "pipeline.ts": [
      /* 1 */ `import { dep, loaders, out, Pipeline } from "jsr:@pivot/core";`,
      /* 2 */ `import { helper } from "./lib/helper.ts";`,
      /* 3 */ ``,
      /* 4 */ `export const pipeline = new Pipeline("t");`,
      /* 5 */ `const RATE = 2;`,
      /* 6 */ ``,
      /* 7 */ `/** Docs above a function do not move its line. */`,
      /* 8 */ `function local(x: number) {`,
      /* 9 */ `  return x * RATE;`,
      /* 10 */ `}`,
      /* 11 */ ``,
      /* 12 */ `pipeline.stage({`,
      /* 13 */ `  name: "a",`,
      /* 14 */ `  deps: {`,
      /* 15 */ `    table: dep("t.csv", loaders.csv()),`,
      /* 16 */ `  },`,
      /* 17 */ `  outs: { x: out("x.json", loaders.json<number>()) },`,
      /* 18 */ `  run: ({ table }) => ({ x: local(helper(table.length)) }),`,
      /* 19 */ `});`,
    ].join("\n") + "\n",
    "lib/helper.ts": [
      /* 1 */ `import isNumber from "is-number";`,
      /* 2 */ ``,
      /* 3 */ `export function helper(x: number) {`,
      /* 4 */ `  return isNumber(x) ? x : 0;`,
      /* 5 */ `}`,
    ].join("\n") + "\n",
  }, { "is-number": "npm:is-number@7.0.0" });
  const { locations } = (await fingerprint(project)).get("a")!;
  assertEquals(locations, {
    "const:RATE": { file: "pipeline.ts", line: 5 },
    "func:local": { file: "pipeline.ts", line: 8 },
    "loader:table": { file: "pipeline.ts", line: 15 },
    "loader:x": { file: "pipeline.ts", line: 17 },
    "mod:lib/helper.ts#helper": { file: "lib/helper.ts", line: 3 },
    "npm:is-number": { file: "lib/helper.ts", line: 1 },
    "self:run": { file: "pipeline.ts", line: 18 },
  });
});

test("a run function declared elsewhere is located at its declaration", async () => {
  await using project = await fingerprintProject({
    "pipeline.ts": `import { Pipeline } from "jsr:@pivot/core";
import { train } from "./stages/train.ts";

export const pipeline = new Pipeline("t");
pipeline.stage({ name: "a", run: train });
`,
    "stages/train.ts": `\n\nexport function train() {\n  return {};\n}\n`,
  });
  const { locations } = (await fingerprint(project)).get("a")!;
  assertEquals(locations, { "self:run": { file: "stages/train.ts", line: 3 } });
});
