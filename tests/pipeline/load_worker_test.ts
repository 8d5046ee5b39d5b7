/** Loading a pipeline in a fresh isolate, with the isolate started ahead of need. */

import { projectAt } from "../../lib/model/project.ts";
import { PivotError } from "../../lib/errors.ts";
import { FreshLoader } from "../../lib/pipeline/load_worker.ts";
import { emptyParamsYaml } from "../../lib/pipeline/params.ts";
import { assert, assertEquals, assertRejects } from "../_assert.ts";
import { test } from "../_harness.ts";
import { tempDir } from "../_project.ts";

const MOD = new URL("../../mod.ts", import.meta.url).href;

const pipeline = (name: string) =>
  `import { loaders, out, Pipeline } from "${MOD}";
import { suffix } from "./lib/suffix.ts";
export const pipeline = new Pipeline("fresh");
pipeline.stage({
  name: "${name}" + suffix,
  outs: { o: out("o.txt", loaders.text()) },
  run: () => ({ o: "x" }),
});
`;

test("a prepared loader reads the pipeline and its modules as they are at the load, not at the start", async () => {
  await using dir = await tempDir();
  await Deno.mkdir(dir.path(".pivot"));
  await dir.write("pipeline.ts", pipeline("first"));
  await dir.write("lib/suffix.ts", `export const suffix = "_1";\n`);
  const project = projectAt(dir.root);
  const loader = new FreshLoader();
  try {
    const names = async () =>
      (await loader.load(project, dir.path("pipeline.ts"), emptyParamsYaml())).stages
        .map((stage) => stage.name);
    assertEquals(await names(), ["first_1"], "a load without a prepared worker");
    loader.prepare();
    loader.prepare();
    assert(loader.prepared);
    await dir.write("pipeline.ts", pipeline("second"));
    await dir.write("lib/suffix.ts", `export const suffix = "_2";\n`);
    assertEquals(await names(), ["second_2"]);
    assert(!loader.prepared, "a prepared worker serves one load");
    loader.prepare();
    await dir.write("lib/suffix.ts", `export const suffix = ;\n`);
    await assertRejects(names, PivotError, /suffix\.ts/);
    await dir.write("lib/suffix.ts", `export const suffix = "_3";\n`);
    loader.prepare();
    assertEquals(await names(), ["second_3"], "a failed load leaves the next one fresh");
  } finally {
    loader.close();
  }
});
