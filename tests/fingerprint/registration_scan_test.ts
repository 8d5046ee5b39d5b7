/**
 * The load cache's registration scan (lib/fingerprint/_registration_scan.ts)
 * of a long module, parsed in chunks of whole statements, finds exactly what
 * the scan of the whole file finds, line numbers included.
 */

import { analyzeModule, loadTypeScript } from "../../lib/fingerprint/_analyze.ts";
import { RegistrationScanner, scanRegistration } from "../../lib/fingerprint/_registration_scan.ts";
import { REPO } from "../_project.ts";
import { assertEquals, assertMatch } from "../_assert.ts";
import { test } from "../_harness.ts";

const ts = await loadTypeScript();

const stage = (i: number) =>
  `pipeline.stage({
  name: "s${i}",
  outs: { o: out("out/s${i}.txt", loaders.text()) },
  run: () => ({ o: combine("${i}", "x") }),
});
`;

const head = `import { loaders, out, Pipeline } from "jsr:@pivot/core";
import { combine } from "./lib/arith.ts";

export const pipeline = new Pipeline("p");

`;

/** A pipeline of `n` stages with `extra` after stage `at`. */
function module(n: number, at: number, extra: string): string {
  let text = head;
  for (let i = 0; i < n; i++) text += stage(i) + (i === at ? extra : "");
  return text;
}

const CASES: Record<string, string> = {
  "plain": module(40, -1, ""),
  "a hard global late": module(40, 30, "const when = Date.now();\n"),
  "import.meta late": module(40, 25, "export const here = import.meta.url;\n"),
  "dynamic import late": module(40, 20, 'export const lazy = () => import("./x.ts");\n'),
  "a soft global declared after its use": module(
    40,
    35,
    "function name() {\n  return 1;\n}\n",
  ).replace('name: "s2",', 'name: "s2" + name(),'),
  "a soft global never declared": module(40, -1, "").replace('name: "s2",', 'name: "s2" + name,'),
  "a template across chunk boundaries": module(
    40,
    10,
    "export const text = `\nline;\nconst x = Date;\nmore;\n`;\n",
  ),
  "a comment across chunk boundaries": module(
    40,
    12,
    "/*\nstart;\nconst y = fetch;\n*/\n",
  ),
  "an import late": module(40, 38, 'import { extra } from "./lib/extra.ts";\nexport { extra };\n'),
};

test("a long module scanned in chunks gives the whole file's result", () => {
  for (const [what, text] of Object.entries(CASES)) {
    const whole = scanRegistration(ts, "/p/pipeline.ts", text, Infinity);
    for (const size of [64, 300, 1000, 4000]) {
      assertEquals(scanRegistration(ts, "/p/pipeline.ts", text, size), whole, `${what}, ${size}`);
    }
  }
});

test("what the scan refuses in a late chunk is named at its line in the module", () => {
  const text = CASES["a hard global late"];
  const line = text.split("\n").findIndex((l) => l.includes("Date.now")) + 1;
  assertEquals(scanRegistration(ts, "/p/pipeline.ts", text, 200), {
    ok: false,
    reason: `/p/pipeline.ts:${line}: 'Date'`,
  });
  assertEquals(scanRegistration(ts, "/p/pipeline.ts", CASES.plain, 200), {
    ok: true,
    specifiers: ["./lib/arith.ts", "jsr:@pivot/core"],
  });
});

test("the scan over the fingerprint analysis' trees equals the scan's own parse", async () => {
  const sources: [string, string][] = Object.entries(CASES).map(([what, text]) => [
    `/p/${what.replaceAll(" ", "_")}.ts`,
    text,
  ]);
  // Modules of every kind the repository holds: eligible and not.
  for (
    const file of [
      "mod.ts",
      "lib/api/pipeline.ts",
      "lib/paths.ts",
      "examples/quickstart/pipeline.ts",
    ]
  ) {
    sources.push([`${REPO}/${file}`, await Deno.readTextFile(`${REPO}/${file}`)]);
  }
  // A chunk that does not parse alone: the analysis starts again whole, and so does the scan.
  sources.push(["/p/split.ts", module(30, 5, "const t = `\nx;\ny = Date;\n`;\n")]);
  for (const [path, text] of sources) {
    for (const size of [200, 4000, Infinity]) {
      const scanner = new RegistrationScanner(ts, path);
      await analyzeModule(ts, path, text, size, scanner);
      assertEquals(scanner.result(), scanRegistration(ts, path, text), `${path}, ${size}`);
    }
  }
});

const HEAD = `import { defineStage, dep, out, Pipeline } from "jsr:@pivot/core";
export const pipeline = new Pipeline("p");
`;

/** The scan of `body` after {@link HEAD}, whole and in small chunks (which must agree). */
function scanned(body: string): ReturnType<typeof scanRegistration> {
  const text = HEAD + body;
  const whole = scanRegistration(ts, "/p/pipeline.ts", text, Infinity);
  assertEquals(scanRegistration(ts, "/p/pipeline.ts", text, 40), whole, body);
  return whole;
}

test("what only a stage's run function runs does not make a module ineligible", () => {
  const eligible = [
    // The bench's bigdir pipeline: a helper that walks a folder, called by run.
    `function countFiles(dir: string): number {
  let files = 0;
  for (const entry of Deno.readDirSync(dir)) {
    if (entry.isDirectory) files += countFiles(dir + "/" + entry.name);
    else files++;
  }
  return files;
}
pipeline.stage({ name: "count", deps: { d: dep("data/") }, run: ({ d }) => ({ n: countFiles(d) }) });
`,
    `pipeline.stage({ name: "a", run: () => { Deno.writeTextFileSync("x", String(Date.now())); } });`,
    `const list = (dir: string) => [...Deno.readDirSync(dir)];
const total = (dir: string) => list(dir).length;
pipeline.stage({ name: "a", run: () => ({ n: total(".") }) });
`,
    `function run() {
  console.log(Math.random(), import.meta.url, fetch);
}
pipeline.stage({ name: "a", run });
pipeline.stage({ name: "b", run: run });
`,
    `pipeline.stage({ name: "a", run() { return { n: Deno.cwd(), m: name }; } });`,
    `export const def = defineStage({ name: "a", run: () => ({ at: new Date().toISOString() }) });`,
    `pipeline.stage({ name: "a", run: async () => {
  const files = [...Deno.readDirSync(".")].map((e) => Deno.statSync(e.name));
  return { m: import.meta.url, files };
} }).stage({ name: "b", run: () => globalThis.crypto.randomUUID() });
`,
    // The helper declared after the stage that uses it.
    `pipeline.stage({ name: "a", run: () => later() });
function later() {
  return Deno.env.get("X");
}
`,
  ];
  for (const body of eligible) assertEquals(scanned(body).ok, true, body);
});

test("what registering may call is still refused, wherever it is found", () => {
  const refused: [string, RegExp][] = [
    [
      `function countFiles(dir: string) {
  return [...Deno.readDirSync(dir)].length;
}
for (let i = 0; i < countFiles("data"); i++) pipeline.stage({ name: "s" + i, run: () => {} });
`,
      /pipeline\.ts:4: 'Deno', in 'countFiles', which runs while registering \(line 6\)/,
    ],
    [
      `pipeline.stage({ name: "s" + stamp(), run: () => {} });
function stamp() {
  return Date.now();
}
`,
      /'Date', in 'stamp', which runs while registering \(line 3\)/,
    ],
    // Through another helper.
    [
      `const now = () => Date.now();
const later = () => now() + 1;
const at = later();
`,
      /'Date', in '(now|later)', which runs while registering/,
    ],
    // A closure made while registering.
    [
      `function make() {
  return () => Deno.cwd();
}
const where = make()();
`,
      /'Deno', in 'make'/,
    ],
    [`export function helper() {\n  return Deno.cwd();\n}\n`, /pipeline\.ts:4: 'Deno'$/],
    [`export const helper = () => Deno.cwd();\n`, /'Deno'$/],
    [`function helper() {\n  return Deno.cwd();\n}\nexport { helper };\n`, /in 'helper'/],
    [`function helper() {\n  return Deno.cwd();\n}\nexport default helper;\n`, /in 'helper'/],
    [`let helper = () => Deno.cwd();\n`, /'Deno'$/],
    [`const names = ["a"].map(() => Deno.cwd());\n`, /'Deno'$/],
    [`class A {\n  m() {\n    return Deno.cwd();\n  }\n}\n`, /'Deno'$/],
    [`class A {\n  x = Deno.cwd();\n}\n`, /'Deno'$/],
    [`pipeline.stage({ name: "a", get run() { return Deno.cwd(); } });\n`, /'Deno'$/],
    [`const spec = { name: "a", run: () => Deno.cwd() };\npipeline.stage(spec);\n`, /'Deno'$/],
    [`register({ name: "a", run: () => Deno.cwd() });\n`, /'Deno'$/],
    [`pipeline.stage({ name: "a", run: () => {} }, () => Deno.cwd());\n`, /'Deno'$/],
    [`function n() {\n  return name;\n}\nconst x = n();\n`, /global 'name', in 'n'/],
    [`const m = () => import.meta.url;\nconst u = m();\n`, /import\.meta, in 'm'/],
    // Even in a run function: what it loads may be outside the static graph.
    [`pipeline.stage({ name: "a", run: async () => await import("./x.ts") });\n`, /dynamic import/],
  ];
  for (const [body, reason] of refused) {
    const result = scanned(body);
    assertEquals(result.ok, false, body);
    if (!result.ok) assertMatch(result.reason, reason, body);
  }
});
