/**
 * The user-global analysis cache's entries (lib/fingerprint/_user_cache.ts):
 * what names them, what they hold, and what reads as a miss. End to end
 * (projects, the off switches, unusable folders): tests/e2e/user_cache_test.ts.
 */

import { analyzeModule, loadTypeScript } from "../../lib/fingerprint/_analyze.ts";
import { scanRegistration } from "../../lib/fingerprint/_registration_scan.ts";
import { ANALYSIS_VERSION } from "../../lib/fingerprint/_summary.ts";
import { ANALYSER_SOURCES, openUserCache } from "../../lib/fingerprint/_user_cache.ts";
import { assert, assertEquals } from "../_assert.ts";
import { test } from "../_harness.ts";
import { tempDir } from "../_project.ts";
import { repositoryUrl, staticImports } from "../_static_imports.ts";

const ts = await loadTypeScript();
const identity = { analysis: ANALYSIS_VERSION, rules: 2 };
const HASH = "0123456789abcdef";
const MODULE = [
  'import { helper } from "./lib/helper.ts";',
  "export const double = (x: number) => helper(x) * 2;",
  "",
].join("\n");

/** Imported by the analyser, but cannot change a result: trace lines, and the version (in the key from JSR). */
const NOT_RESULTS = ["lib/trace.ts", "lib/version.ts"].map(repositoryUrl);

test("ANALYSER_SOURCES covers every module of Pivot's that the analysis and the scan import", async () => {
  const listed = new Set(
    ANALYSER_SOURCES.map((source) => repositoryUrl(`lib/fingerprint/${source}`)),
  );
  for (const url of NOT_RESULTS) listed.add(url);
  for (const entry of ["_analyze.ts", "_registration_scan.ts", "_user_cache.ts"]) {
    const imports = await staticImports(`lib/fingerprint/${entry}`);
    for (const url of imports.reached) {
      if (!url.startsWith(repositoryUrl("lib/"))) continue;
      assert(listed.has(url), `${imports.chainTo(url)}: not in ANALYSER_SOURCES`);
    }
  }
});

test("a summary holds nothing of the module's folder: entries serve every project", async () => {
  const one = await analyzeModule(ts, "/home/a/project/pipeline.ts", MODULE);
  const other = await analyzeModule(ts, "/srv/ci/checkout/pipeline.ts", MODULE);
  assertEquals(JSON.stringify(other), JSON.stringify(one));
});

test("a summary kept for one path is read back for another path of the same text and syntax", async () => {
  await using dir = await tempDir();
  const cache = (await openUserCache(dir.path("analyses"), identity))!;
  const summary = await analyzeModule(ts, "/a/pipeline.ts", MODULE);
  cache.putSummary(HASH, "/a/pipeline.ts", summary);
  assertEquals(cache.summary(HASH, "/b/pipeline.ts"), summary);
  // The extension picks the syntax: another one is another entry.
  assertEquals(cache.summary(HASH, "/b/pipeline.tsx"), undefined);
  assertEquals(cache.summary("fedcba9876543210", "/b/pipeline.ts"), undefined);
});

test("a refused scan is kept without its path and read back with the reader's", async () => {
  await using dir = await tempDir();
  const cache = (await openUserCache(dir.path("analyses"), identity))!;
  const scan = scanRegistration(ts, "/a/p/pipeline.ts", "console.log(1);\n");
  assert(!scan.ok && scan.reason.startsWith("/a/p/pipeline.ts:"), JSON.stringify(scan));
  cache.putScan(HASH, "/a/p/pipeline.ts", scan);
  const read = cache.scan(HASH, "/b/q/pipeline.ts");
  assertEquals(read, scanRegistration(ts, "/b/q/pipeline.ts", "console.log(1);\n"));
  const text = JSON.stringify([...Deno.readDirSync(dir.path("analyses"))].map((entry) => {
    const folder = dir.path("analyses", entry.name);
    return [...Deno.readDirSync(folder)].map((file) =>
      Deno.readTextFileSync(`${folder}/${file.name}`)
    );
  }));
  assert(!text.includes("/a/p"), `the path is not stored: ${text}`);
});

test("another analysis version reads none of the entries of this one", async () => {
  await using dir = await tempDir();
  const summary = await analyzeModule(ts, "/a/pipeline.ts", MODULE);
  (await openUserCache(dir.path("analyses"), identity))!.putSummary(
    HASH,
    "/a/pipeline.ts",
    summary,
  );
  const next =
    (await openUserCache(dir.path("analyses"), { ...identity, analysis: identity.analysis + 1 }))!;
  assertEquals(next.summary(HASH, "/a/pipeline.ts"), undefined);
  const rules =
    (await openUserCache(dir.path("analyses"), { ...identity, rules: identity.rules + 1 }))!;
  assertEquals(rules.summary(HASH, "/a/pipeline.ts"), summary, "scan rules do not name summaries");
});

test("a torn, damaged or misnamed entry is a miss, and writing it again repairs it", async () => {
  await using dir = await tempDir();
  const cache = (await openUserCache(dir.path("analyses"), identity))!;
  const summary = await analyzeModule(ts, "/a/pipeline.ts", MODULE);
  cache.putSummary(HASH, "/a/pipeline.ts", summary);
  const [folder] = [...Deno.readDirSync(dir.path("analyses"))].map((e) =>
    dir.path("analyses", e.name)
  );
  const file = `${folder}/${HASH}.ts.json`;
  const whole = Deno.readTextFileSync(file);
  for (
    const damaged of [
      whole.slice(0, whole.length / 2),
      "",
      "\0".repeat(100),
      "[]",
      '{"k":"x","v":{}}',
    ]
  ) {
    Deno.writeTextFileSync(file, damaged);
    assertEquals(
      cache.summary(HASH, "/a/pipeline.ts"),
      undefined,
      JSON.stringify(damaged.slice(0, 30)),
    );
  }
  // Another entry's text under this name: it names another module.
  Deno.writeTextFileSync(file, whole.replace(HASH, "fedcba9876543210"));
  assertEquals(cache.summary(HASH, "/a/pipeline.ts"), undefined);
  cache.putSummary(HASH, "/a/pipeline.ts", summary);
  assertEquals(cache.summary(HASH, "/a/pipeline.ts"), summary);
  assertEquals(
    [...Deno.readDirSync(folder)].map((e) => e.name),
    [`${HASH}.ts.json`],
    "no temporary file left",
  );
});
