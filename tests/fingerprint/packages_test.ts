/** npm packages, tracked by resolved version. */

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { changedKeys, changesAfter, PIVOT_ROOT, Project } from "./_project.ts";

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

Deno.test("an npm package's version bump changes npm:<package>", async () => {
  const changes = await changesAfter(
    files,
    (p) => p.writeConfig({ "is-number": "npm:is-number@6.0.0" }),
    { "is-number": "npm:is-number@7.0.0" },
  );
  assertEquals(changes, { a: ["npm:is-number"], b: [] });
});

Deno.test("a config edit that keeps the package version changes nothing", async () => {
  const changes = await changesAfter(
    files,
    (p) => p.writeConfig({ "is-number": "npm:is-number@7.0.0", "unused": "npm:is-number@6.0.0" }),
    { "is-number": "npm:is-number@7.0.0" },
  );
  assertEquals(changes, { a: [], b: [] });
});

Deno.test("a package.json dependency installed in node_modules is tracked by version, not analysed", async () => {
  await using project = await Project.create({
    ...files,
    "package.json": JSON.stringify({ dependencies: { "is-number": "7.0.0" } }),
  });
  const install = async () => {
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["install", "--config", project.config],
      cwd: project.root,
      stdout: "null",
      stderr: "piped",
    }).output();
    if (!output.success) throw new Error(new TextDecoder().decode(output.stderr));
  };
  await install();
  const before = (await project.fingerprint()).get("a")!;
  assertEquals(Object.keys(before.manifest), ["loader:x", "npm:is-number", "self:run"]);
  await project.write("package.json", JSON.stringify({ dependencies: { "is-number": "6.0.0" } }));
  await install();
  const after = (await project.fingerprint()).get("a")!;
  assertEquals(changedKeys(before, after), ["npm:is-number"]);
});

Deno.test("without a deno.json, package.json dependencies still resolve", async () => {
  await using project = await Project.create({
    "pipeline.ts": files["pipeline.ts"].replace(
      '"jsr:@pivot/core"',
      `"file://${PIVOT_ROOT}/mod.ts"`,
    ),
    "package.json": JSON.stringify({ dependencies: { "is-number": "7.0.0" } }),
  }, null);
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["install"],
    cwd: project.root,
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!output.success) throw new Error(new TextDecoder().decode(output.stderr));
  // Running user code without a config is the pipeline loader's business;
  // here the call site of stage "a" is simply known: line 6, at "stage".
  const stage = project.stageDef({
    name: "a",
    baseName: "a",
    variant: null,
    site: { url: `file://${project.root}/pipeline.ts`, line: 6, column: 10 },
    definitionSite: null,
    functionName: "run",
    deps: [],
    outs: [{ name: "x", path: "x.json", loader: { kind: "json", options: { indent: 2 } } }],
  }, `${project.root}/pipeline.ts`);
  const { manifest } = (await project.fingerprint([stage])).get("a")!;
  assertEquals(Object.keys(manifest), ["loader:x", "npm:is-number", "self:run"]);
});
