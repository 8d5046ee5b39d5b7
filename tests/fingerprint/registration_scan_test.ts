/**
 * The load cache's registration scan (lib/fingerprint/_registration_scan.ts)
 * of a long module, parsed in chunks of whole statements, finds exactly what
 * the scan of the whole file finds, line numbers included.
 */

import { analyzeModule, loadTypeScript } from "../../lib/fingerprint/_analyze.ts";
import { RegistrationScanner, scanRegistration } from "../../lib/fingerprint/_registration_scan.ts";
import { REPO } from "../_project.ts";
import { assertEquals } from "../_assert.ts";
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
