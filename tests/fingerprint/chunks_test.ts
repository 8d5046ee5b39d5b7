/**
 * A long module is analysed in chunks of whole top-level statements (one
 * syntax tree alive at a time): the summary must be exactly the whole file's,
 * including where chunking cannot apply and the analysis falls back.
 */

import { join } from "node:path";
import {
  analyzeInChunks,
  analyzeModule,
  CHUNK_CHARS,
  loadTypeScript,
  statementChunks,
  WHOLE_CHARS,
} from "../../lib/fingerprint/_analyze.ts";
import { RegistrationScanner, scanRegistration } from "../../lib/fingerprint/_registration_scan.ts";
import { assert, assertEquals } from "../_assert.ts";
import { test } from "../_harness.ts";
import { REPO } from "../_project.ts";

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

test("a name used before the chunk that declares it: the chunks are analysed again knowing it", async () => {
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
  assert(split, "analysed in chunks, not whole");
  assertEquals(chunked, whole);
  assertEquals(whole.decls.setup.r, [["later", "push"]]);
  // The registration scan shown the chunks forgets the first pass's.
  const scanner = new RegistrationScanner(ts, "m.ts");
  await analyzeModule(ts, "m.ts", source, 1, scanner);
  assertEquals(scanner.result(), scanRegistration(ts, "m.ts", source, WHOLE));
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

/**
 * A pipeline of `stages` stages written out inline (as bench/gen_pipeline.ts
 * does), whose stages call a helper declared after them: a name used before
 * the chunk that declares it.
 */
function longPipeline(stages: number): string {
  const parts = [
    `import { dep, loaders, out, Pipeline } from "jsr:@pivot/core";\n`,
    `export const pipeline = new Pipeline("long");\n`,
  ];
  for (let i = 0; i < stages; i++) {
    parts.push(`pipeline.stage({
  name: "s${i}",
  deps: { a: dep("${i === 0 ? "in.txt" : `out/s${i - 1}.txt`}", loaders.text()) },
  outs: { o: out("out/s${i}.txt", loaders.text()) },
  run: ({ a }) => ({ o: combine(a, "${i}") }),
});
`);
  }
  parts.push(`function combine(a: string, b: string): string {\n  return a + b;\n}\n`);
  return parts.join("\n");
}

test("by default, a module over WHOLE_CHARS is analysed in chunks of about CHUNK_CHARS, as if whole", async () => {
  const short = longPipeline(100);
  assert(short.length <= WHOLE_CHARS);
  assertEquals(statementChunks(short, CHUNK_CHARS, WHOLE_CHARS).length, 1, "parsed whole");
  const text = longPipeline(1_000);
  const chunks = statementChunks(text, CHUNK_CHARS, WHOLE_CHARS);
  assert(chunks.length > text.length / (2 * CHUNK_CHARS), `${chunks.length} chunks`);
  for (const chunk of chunks.slice(0, -1)) {
    assert(chunk.text.length >= CHUNK_CHARS && chunk.text.length < CHUNK_CHARS + 1024);
  }
  const scanner = new RegistrationScanner(ts, "pipeline.ts");
  const chunked = await analyzeModule(ts, "pipeline.ts", text, undefined, scanner);
  const whole = await analyzeModule(ts, "pipeline.ts", text, WHOLE);
  assertEquals(chunked, whole);
  assertEquals(chunked.sites.length, 1_000);
  // Every stage's run function reaches the helper declared after them all.
  assert(chunked.sites.every((site) => JSON.stringify(site).includes("combine")));
  assert(
    await analyzeInChunks(ts, "pipeline.ts", text, CHUNK_CHARS, undefined, WHOLE_CHARS),
    "split, not analysed whole",
  );
  assertEquals(scanner.result(), scanRegistration(ts, "pipeline.ts", text, WHOLE));
  assertEquals(
    scanRegistration(ts, "pipeline.ts", text),
    scanRegistration(ts, "pipeline.ts", text, WHOLE),
  );
});

test("the repository's own modules analysed in chunks of 2,000 characters equal their whole analysis", async () => {
  let split = 0;
  for (const dir of ["lib/fingerprint", "lib/engine", "lib/api", "lib/cli"]) {
    for await (const entry of Deno.readDir(join(REPO, dir))) {
      if (!entry.isFile || !entry.name.endsWith(".ts")) continue;
      const file = join(REPO, dir, entry.name);
      const text = await Deno.readTextFile(file);
      const chunked = await analyzeModule(ts, file, text, 2_000);
      assertEquals(chunked, await analyzeModule(ts, file, text, WHOLE), file);
      if (await analyzeInChunks(ts, file, text, 2_000)) split++;
    }
  }
  assert(split > 5, `${split} modules analysed in chunks`);
});
