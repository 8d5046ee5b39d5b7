/** npm packages, tracked by resolved version. */

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { changesAfter } from "./_project.ts";

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
