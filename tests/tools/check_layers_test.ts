import { checkLayers, readModules } from "../../tools/check_layers.ts";
import { assertEquals, assertMatch } from "../_assert.ts";
import { test } from "../_harness.ts";

function check(files: Record<string, string>) {
  return checkLayers(new Map(Object.entries(files)));
}

test("the repository's modules are in layer order, without circles", () => {
  const report = checkLayers(readModules(new URL("../../", import.meta.url).pathname));
  assertEquals([report.violations, report.cycles], [[], []]);
});

test("an import of a higher layer is a violation naming both layers", () => {
  const report = check({
    "lib/model/stage_def.ts": `import type { Engine } from "../engine/engine.ts";`,
    "lib/engine/engine.ts": `import type { StageDef } from "../model/stage_def.ts";`,
  });
  assertEquals(report.violations.length, 1);
  assertEquals(report.violations[0].from, "lib/model/stage_def.ts");
  assertMatch(report.violations[0].message, /imports lib\/engine\/engine.ts: .* above it/);
});

test("layers on one level may not import each other", () => {
  const report = check({
    "lib/engine/engine.ts": `export * from "../pipeline/load.ts";`,
    "lib/pipeline/load.ts": "",
  });
  assertMatch(report.violations[0].message, /on its own level/);
});

test("a private module of another folder may not be imported, even lazily", () => {
  const report = check({
    "lib/engine/engine.ts": `const m = () => import("../fingerprint/_analyze.ts");`,
    "lib/fingerprint/_analyze.ts": "",
  });
  assertMatch(report.violations[0].message, /private to lib\/fingerprint\//);
});

test("import circles are found, type-only imports included; comments do not count", () => {
  const report = check({
    "lib/pipeline/a.ts": `import type { B } from "./b.ts";\n// import "./c.ts";`,
    "lib/pipeline/b.ts": `import { c } from "./c.ts";`,
    "lib/pipeline/c.ts": `import type { A } from "./a.ts";`,
  });
  assertEquals(report.cycles, [
    "lib/pipeline/a.ts -> lib/pipeline/b.ts -> lib/pipeline/c.ts -> lib/pipeline/a.ts",
  ]);
});

test("a folder in no layer is reported", () => {
  const report = check({ "lib/misc/thing.ts": "" });
  assertMatch(report.violations[0].message, /is in no layer: add its folder to LAYERS/);
});
