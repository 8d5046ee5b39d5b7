/**
 * Outs are listed in a `.gitignore` beside them (SPEC §5), so `git add -A`
 * never adds data; `cache: false` outs (metrics) stay for git.
 */

import { assert, assertEquals } from "../_assert.ts";
import { TempProject } from "../_project.ts";
import { test } from "../_harness.ts";

const PIPELINE = `import { dep, loaders, metric, out, Pipeline } from "jsr:@pivot/core";
export const pipeline = new Pipeline("ignored");
pipeline.stage({
  name: "train",
  deps: { data: dep("data.txt", loaders.text()) },
  outs: {
    model: out("models/model.json", loaders.json<{ n: number }>()),
    feats: out("feats/", loaders.pathOnly()),
    log: out("models/[run] 1.txt", loaders.text()),
    metrics: metric("metrics.json"),
  },
  run: async ({ data }, ctx) => {
    await Deno.writeTextFile(ctx.outs.feats + "/a.txt", data);
    return { model: { n: data.length }, log: "ok", metrics: { n: data.length } };
  },
});
`;

test("outs go into a .gitignore beside them, once; metrics stay for git", async () => {
  await using p = await TempProject.create({
    "pipeline.ts": PIPELINE,
    "data.txt": "abc\n",
    // The user's own line, without a final newline.
    "models/.gitignore": "*.log",
  });
  await p.initGit();
  assertEquals((await p.pivot("repro")).code, 0);
  assertEquals(await p.read("models/.gitignore"), "*.log\n/model.json\n/\\[run\\] 1.txt\n");
  assertEquals(await p.read(".gitignore"), "/feats\n");

  // Running again, restoring, or committing adds nothing twice.
  assertEquals((await p.pivot("repro", "--force")).code, 0);
  await Deno.remove(p.path("models/model.json"));
  assertEquals((await p.pivot("checkout")).code, 0);
  assertEquals((await p.pivot("commit")).code, 0);
  assertEquals(await p.read("models/.gitignore"), "*.log\n/model.json\n/\\[run\\] 1.txt\n");
  assertEquals(await p.read(".gitignore"), "/feats\n");

  await p.git("add", "-A");
  const added = (await p.git("diff", "--cached", "--name-only")).split("\n").filter((l) => l);
  assert(added.includes("metrics.json"), added.join(", "));
  assert(added.includes(".pivot/stages/train.lock"), added.join(", "));
  for (const data of ["models/model.json", "models/[run] 1.txt", "feats/a.txt"]) {
    assert(!added.includes(data), `${data} must not be added: ${added.join(", ")}`);
  }
});

test("checkout lists the outs it restores in .gitignore", async () => {
  await using p = await TempProject.create({ "pipeline.ts": PIPELINE, "data.txt": "abc\n" });
  assertEquals((await p.pivot("repro")).code, 0);
  await Deno.remove(p.path("models/.gitignore"));
  await Deno.remove(p.path("models/model.json"));
  assertEquals((await p.pivot("checkout")).code, 0);
  assertEquals(await p.read("models/.gitignore"), "/model.json\n");
});
