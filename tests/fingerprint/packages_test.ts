/** npm packages, tracked by resolved version. */

import {
  changedKeys,
  changesAfter,
  fingerprint,
  fingerprintProject,
  stageDef,
} from "./_fingerprint.ts";
import { REPO } from "../_project.ts";
import { assertEquals } from "../_assert.ts";
import { test } from "../_harness.ts";

const files = {
  "pipeline.ts": `import { loaders, out, Pipeline } from "jsr:@pivot/core";
import isNumber from "is-number";

export const pipeline = new Pipeline("t");

pipeline.stage({
  name: "a",
  outs: { x: out("x.json", loaders.json<boolean>()) },
  run: () => ({ x: isNumber(3) }),
});

pipeline.stage({
  name: "b",
  outs: { y: out("y.json", loaders.json<number>()) },
  run: () => ({ y: 1 }),
});
`,
};

test("an npm package's version bump changes npm:<package>", async () => {
  const changes = await changesAfter(
    files,
    (p) => p.writeConfig({ "is-number": "npm:is-number@6.0.0" }),
    { "is-number": "npm:is-number@7.0.0" },
  );
  assertEquals(changes, { a: ["npm:is-number"], b: [] });
});

test("a config edit that keeps the package version changes nothing", async () => {
  const changes = await changesAfter(
    files,
    (p) => p.writeConfig({ "is-number": "npm:is-number@7.0.0", "unused": "npm:is-number@6.0.0" }),
    { "is-number": "npm:is-number@7.0.0" },
  );
  assertEquals(changes, { a: [], b: [] });
});

test("a package.json dependency installed in node_modules is tracked by version, not analysed", async () => {
  await using project = await fingerprintProject({
    ...files,
    "package.json": JSON.stringify({ dependencies: { "is-number": "7.0.0" } }),
  });
  const install = () => project.run("deno", "install", "--config", project.path("deno.json"));
  await install();
  const before = (await fingerprint(project)).get("a")!;
  assertEquals(Object.keys(before.manifest), ["loader:x", "npm:is-number", "self:run"]);
  await project.write("package.json", JSON.stringify({ dependencies: { "is-number": "6.0.0" } }));
  await install();
  const after = (await fingerprint(project)).get("a")!;
  assertEquals(changedKeys(before, after), ["npm:is-number"]);
});

test("without a deno.json, package.json dependencies still resolve", async () => {
  await using project = await fingerprintProject({
    "pipeline.ts": files["pipeline.ts"].replace(
      '"jsr:@pivot/core"',
      `"file://${REPO}/mod.ts"`,
    ),
    "package.json": JSON.stringify({ dependencies: { "is-number": "7.0.0" } }),
  }, null);
  await project.run("deno", "install");
  // Running user code without a config is the pipeline loader's business;
  // here the call site of stage "a" is simply known: line 6, at "stage".
  const stage = stageDef(project, {
    name: "a",
    baseName: "a",
    variant: null,
    site: { url: `file://${project.root}/pipeline.ts`, line: 6, column: 10 },
    definitionSite: null,
    functionName: "run",
    deps: [],
    outs: [{ name: "x", path: "x.json", loader: { kind: "json", options: { indent: 2 } } }],
  }, `${project.root}/pipeline.ts`);
  const { manifest } = (await fingerprint(project, [stage])).get("a")!;
  assertEquals(Object.keys(manifest), ["loader:x", "npm:is-number", "self:run"]);
});
