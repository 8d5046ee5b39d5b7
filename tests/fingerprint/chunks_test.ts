/**
 * A long module is analysed in chunks of whole top-level statements (one
 * syntax tree alive at a time): the summary must be exactly the whole file's,
 * including where chunking cannot apply and the analysis falls back.
 */

import {
  analyzeInChunks,
  analyzeModule,
  loadTypeScript,
  statementChunks,
} from "../../lib/fingerprint/_analyze.ts";
import { assert, assertEquals } from "../_assert.ts";
import { test } from "../_harness.ts";

const ts = await loadTypeScript();
const WHOLE = Number.POSITIVE_INFINITY;

/**
 * Summaries of `source` parsed whole and split at every place allowed
 * (chunks of 1 character), and whether the chunks were used as they are.
 */
async function bothWays(source: string, file = "pipeline.ts") {
  return {
    whole: await analyzeModule(ts, file, source, WHOLE),
    chunked: await analyzeModule(ts, file, source, 1),
    split: await analyzeInChunks(ts, file, source, 1) !== undefined,
  };
}

const PIPELINE = `import { dep, loaders, out, Pipeline } from "jsr:@pivot/core";
import * as u from "./lib/util.ts";

export const pipeline = new Pipeline("p");

const SCALE = 3;

function helper(x: number): number {
  return x * SCALE;
}

pipeline.stage({
  name: "a",
  deps: { i: dep("in.txt", loaders.text()) },
  outs: { o: out("a.txt", loaders.text()) },
  run: ({ i }) => ({ o: String(helper(i.length)) }),
});

const table = new Map<string, number>();
table.set("k", SCALE);

pipeline.stage({
    name: "b",
  outs: { o: out("b.txt", loaders.text()) },
  run: () => ({ o: u.format(table.get("k")) }),
});

for (const n of [1, 2]) {
  pipeline.stage({ name: \`c\${n}\`, outs: { o: out(\`c\${n}.txt\`, loaders.text()) }, run: () => ({ o: String(n) }) });
}
export default helper;
`;

test("a module split into statement chunks has exactly the whole file's summary", async () => {
  assert(statementChunks(PIPELINE, 1).length > 5, "the module is split");
  const { whole, chunked, split } = await bothWays(PIPELINE);
  assert(split, "analysed in chunks");
  assertEquals(chunked, whole);
  // Lines and columns of stage calls in later chunks are the file's.
  assertEquals(chunked.sites.map((s) => [s.l, s.c, s.sl, s.el]), [
    [12, 10, 12, 17],
    [22, 10, 22, 26],
    [29, 12, 29, 29],
  ]);
});

test("chunks start at line starts after a line ending in ';', and count lines from there", () => {
  const chunks = statementChunks("a();\n\nb();\n  c();\nd()\ne();\n", 1);
  assertEquals(chunks, [
    { text: "a();\n", line: 0 },
    { text: "\nb();\n  c();\n", line: 1 },
    { text: "d()\ne();\n", line: 4 },
  ]);
  // Lone carriage returns and Unicode line separators count as lines in TypeScript: not split.
  assertEquals(statementChunks("a();\rb();\r", 1).length, 1);
  assertEquals(statementChunks("a();\u2028b();\n", 1).length, 1);
  assertEquals(statementChunks("a();\r\nb();\r\n", 1).length, 2);
});

test("a name used before the chunk that declares it: the module is analysed whole", async () => {
  // `setup` uses `later`, declared below: chunk by chunk, the reference would be dropped.
  const source = `export function setup() {
  later.push(1);
}
setup();
var later: number[] = [];
export const x = () => later.length;
`;
  assert(statementChunks(source, 1).length > 1);
  const { whole, chunked, split } = await bothWays(source, "m.ts");
  assert(!split, "analysed whole");
  assertEquals(chunked, whole);
  assertEquals(whole.decls.setup.r, [["later", "push"]]);
});

test("a ';' line inside a template literal or a comment splits nothing: the module is analysed whole", async () => {
  const source = `export const text = \`one;
two\`;
/*
x = 1;
y = 2;
*/
export class K {
x = 1;
y = 2;
}
`;
  assert(statementChunks(source, 1).length > 2, "the naive split points are there");
  const { whole, chunked, split } = await bothWays(source, "m.ts");
  assert(!split, "analysed whole");
  assertEquals(chunked, whole);
  assertEquals(Object.keys(whole.decls).sort(), ["K", "text"]);
});

test("JSX modules are never split", async () => {
  const source = `export const A = () => <div>
x;
y
</div>;
`;
  assert(statementChunks(source, 1).length > 1);
  const { whole, chunked, split } = await bothWays(source, "m.tsx");
  assert(!split, "analysed whole");
  assertEquals(chunked, whole);
});
