/**
 * SPEC §3 end to end, through the real CLI: what does NOT re-run. Comments,
 * JSDoc, whitespace and formatting, semicolons, quote style, type
 * annotations, interfaces, type aliases and `import type`, in the run
 * function, in a same-module helper and in an imported module. A control
 * step first shows that the very code edited is tracked.
 */

import { expectNoRuns, expectRuns, reproduced } from "./_change.ts";
import { test } from "../_harness.ts";

const PIPELINE = `import { loaders, out, Pipeline } from "jsr:@pivot/core";
import { summarize } from "./lib/stats.ts";
import type { Summary } from "./lib/types.ts";

export const pipeline = new Pipeline("format");

interface Point {
  x: number;
  y: number;
}

type Pair = [number, number];

function norm(p: Point): number {
  return Math.abs(p.x) + Math.abs(p.y);
}

pipeline.stage({
  name: "points",
  outs: { o: out("out/points.json", loaders.json<number>()) },
  run: () => {
    const points: Point[] = [{ x: 1, y: -2 }, { x: 3, y: 4 }];
    const pair: Pair = [norm(points[0]), norm(points[1])];
    return { o: pair[0] + pair[1] };
  },
});

pipeline.stage({
  name: "stats",
  outs: { o: out("out/stats.json", loaders.json<Summary>()) },
  run: () => ({ o: summarize([1, 2, 3], "mean") }),
});
`;

const STATS = `import type { Summary } from "./types.ts";

/** The mean of \`values\`, labelled. */
export function summarize(values: number[], label: string): Summary {
  const total = values.reduce((a, b) => a + b, 0);
  return { label: label, value: total / values.length };
}
`;

const FILES = {
  "pipeline.ts": PIPELINE,
  "lib/stats.ts": STATS,
  "lib/types.ts": `export interface Summary {
  label: string;
  value: number;
}
`,
};

test("comments, formatting and types re-run nothing", async (t) => {
  await using p = await reproduced(FILES);
  await t.step("control: the code edited below is tracked", async () => {
    await expectRuns(p, [{ file: "lib/stats.ts", from: "a + b, 0", to: "a + b, 1" }], {
      stats: {
        code: [{
          key: "mod:lib/stats.ts#summarize",
          file: "lib/stats.ts",
          line: "export function summarize",
        }],
      },
    });
    await expectRuns(p, [{ file: "pipeline.ts", from: "Math.abs(p.y)", to: "p.y" }], {
      points: { code: [{ key: "func:norm", file: "pipeline.ts", line: "function norm" }] },
    });
  });

  await t.step("no: comments", async () => {
    await expectNoRuns(p, [
      { file: "pipeline.ts", from: "    return { o:", to: "    // the sum\n    return { o:" },
      { file: "pipeline.ts", from: "return Math.abs", to: "return /* L1 */ Math.abs" },
      { file: "lib/stats.ts", from: "  return {", to: "  // a summary\n  return {" },
    ]);
  });

  await t.step("no: JSDoc", async () => {
    await expectNoRuns(p, [
      { file: "lib/stats.ts", from: "The mean of", to: "The arithmetic mean of" },
      { file: "pipeline.ts", from: "function norm", to: "/** L1 norm. */\nfunction norm" },
    ]);
  });

  await t.step("no: whitespace, line breaks, trailing commas and parentheses", async () => {
    await expectNoRuns(p, [
      {
        file: "lib/stats.ts",
        from: /\{\n.*\n.*\n\}/s,
        to: "{ const total = values.reduce(\n    (a, b) => (a + b),\n    0,\n  );\n\n\n" +
          "      return {label: label,value: total / values.length,} }",
      },
      {
        file: "pipeline.ts",
        from: "[{ x: 1, y: -2 }, { x: 3, y: 4 }]",
        to: "[\n      { x: 1, y: -2 },\n      { x: 3, y: 4 },\n    ]",
      },
    ]);
  });

  await t.step("no: semicolons", async () => {
    await expectNoRuns(p, [
      { file: "lib/stats.ts", from: /;\n/g, to: "\n" },
      { file: "pipeline.ts", from: "pair[1] };", to: "pair[1] }" },
    ]);
  });

  await t.step("no: quote style", async () => {
    await expectNoRuns(p, [
      { file: "pipeline.ts", from: '"mean")', to: "'mean')" },
      { file: "lib/stats.ts", from: "{ label: label,", to: '{ "label": label,' },
    ]);
    await expectNoRuns(p, [{ file: "pipeline.ts", from: '"mean")', to: "`mean`)" }]);
  });

  await t.step("no: type annotations", async () => {
    await expectNoRuns(p, [
      {
        file: "lib/stats.ts",
        from: "(values: number[], label: string): Summary",
        to: "(values: readonly number[], label: unknown)",
      },
      { file: "pipeline.ts", from: "const points: Point[]", to: "const points: Array<Point>" },
      { file: "pipeline.ts", from: "norm(p: Point): number", to: "norm(p: Readonly<Point>)" },
      { file: "pipeline.ts", from: "{ o: pair[0]", to: "{ o: (pair[0] as number)" },
    ]);
  });

  await t.step("no: interfaces (same module and type-only imported module)", async () => {
    await expectNoRuns(p, [
      { file: "pipeline.ts", from: "  y: number;\n", to: "  y: number;\n  z?: number;\n" },
      { file: "lib/types.ts", from: "value: number;", to: "value: number;\n  unit?: string;" },
    ]);
  });

  await t.step("no: type aliases", async () => {
    await expectNoRuns(p, [
      { file: "pipeline.ts", from: "type Pair = [number, number];", to: "type Pair = number[];" },
    ]);
  });

  await t.step("no: import type (added, and switched to an inline type specifier)", async () => {
    await expectNoRuns(p, [
      { file: "lib/extra.ts", write: "export type Extra = { tag: string };\n" },
      {
        file: "pipeline.ts",
        from: 'import type { Summary } from "./lib/types.ts";',
        to: 'import { type Summary } from "./lib/types.ts";\n' +
          'import type { Extra } from "./lib/extra.ts";\n\ntype Tagged = Summary & Extra;',
      },
      {
        file: "lib/stats.ts",
        from: 'import type { Summary } from "./types.ts";',
        to: 'import { type Summary } from "./types.ts";',
      },
    ]);
  });
});
