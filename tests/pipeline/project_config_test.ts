/** `.pivot/config.yaml`: a file of comments reads as defaults; settings beside comments count. */

import { readProjectConfig } from "../../lib/pipeline/project_config.ts";
import { projectAt } from "../../lib/model/project.ts";
import { PivotError } from "../../lib/errors.ts";
import { tempDir } from "../_project.ts";
import { assertEquals, assertRejects } from "../_assert.ts";
import { test } from "../_harness.ts";

async function configOf(text: string) {
  await using dir = await tempDir();
  const project = projectAt(dir.root);
  await Deno.mkdir(project.pivotDir, { recursive: true });
  await Deno.writeTextFile(`${project.pivotDir}/config.yaml`, text);
  const config = await readProjectConfig(project);
  return { ...config, cacheDir: config.cacheDir.slice(dir.root.length) };
}

test("a config of comments and blank lines reads as the defaults", async () => {
  const config = await configOf("# cache:\n#   type: copy\n\n   # core:\n#   jobs: 4\n");
  assertEquals(config.raw, {});
  assertEquals(config.jobs, undefined);
  assertEquals(config.cacheDir, "/.pivot/cache");
});

test("a setting after comments is read", async () => {
  const config = await configOf("# Pivot's settings\ncore:\n  jobs: 3 # three\n");
  assertEquals(config.jobs, 3);
});

test("a config that is not valid YAML is still an error after comments", async () => {
  await assertRejects(() => configOf("# fine\ncore: [unclosed\n"), PivotError, /not valid YAML/);
});
