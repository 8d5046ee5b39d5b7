/** npm packages, tracked by resolved version. */

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { changedKeys, changesAfter, Project } from "./_project.ts";

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
