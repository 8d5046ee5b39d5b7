import { projectAt } from "../../lib/model/project.ts";
import { readProjectConfig } from "../../lib/pipeline/project_config.ts";
import { assertEquals, assertPivotError } from "../_assert.ts";
import { openState, tempDir } from "../_project.ts";
import { test } from "../_harness.ts";

test("without config files every setting has its default", async () => {
  await using dir = await tempDir();
  const project = projectAt(dir.root);
  const config = await readProjectConfig(project);
  assertEquals(config.cacheDir, project.cacheDir);
  assertEquals([config.jobs, config.remote, config.check], [undefined, undefined, false]);
  assertEquals([config.remotes, config.warnings], [{}, []]);
});

test("the local file wins key by key and may complete a remote of the tracked file", async () => {
  await using dir = await tempDir();
  await dir.write(
    ".pivot/config.yaml",
    "core:\n  jobs: 2\n  check: true\nremotes:\n  origin:\n    url: s3://bucket/team\n    region: eu-west-1\n",
  );
  await dir.write(
    ".pivot/config.local.yaml",
    "core:\n  jobs: 8\n  remote: origin\nremotes:\n  origin:\n    profile: me\n  scratch:\n    url: /mnt/scratch\n",
  );
  const config = await readProjectConfig(projectAt(dir.root));
  assertEquals([config.jobs, config.check, config.remote], [8, true, "origin"]);
  assertEquals(config.remotes, {
    origin: { url: "s3://bucket/team", region: "eu-west-1", profile: "me" },
    scratch: { url: "/mnt/scratch" },
  });
});

test("a relative cache.dir is from the project root; an absolute one is kept", async () => {
  await using dir = await tempDir();
  await dir.write(".pivot/config.yaml", "cache:\n  dir: ../shared\n");
  assertEquals((await readProjectConfig(projectAt(dir.root))).cacheDir, dir.path("../shared"));
  await dir.write(".pivot/config.yaml", "cache:\n  dir: /var/cache/pivot\n");
  assertEquals((await readProjectConfig(projectAt(dir.root))).cacheDir, "/var/cache/pivot");
});

test("a file that is empty or only comments has no settings", async () => {
  await using dir = await tempDir();
  await dir.write(".pivot/config.yaml", "# nothing yet\n");
  await dir.write(".pivot/config.local.yaml", "");
  assertEquals((await readProjectConfig(projectAt(dir.root))).remotes, {});
});

test("with a state store the validated files are cached by stamp, and an edit is seen", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.path(".pivot"));
  const project = projectAt(dir.root);
  await dir.write(".pivot/config.yaml", "core:\n  jobs: 3\n");
  assertEquals((await readProjectConfig(project, { state })).jobs, 3);
  assertEquals((await readProjectConfig(project, { state })).jobs, 3);
  await dir.write(".pivot/config.yaml", "core:\n  jobs: 4\n");
  assertEquals((await readProjectConfig(project, { state })).jobs, 4);
  await dir.write(".pivot/config.yaml", "core:\n  jobs: -4\n");
  await assertPivotError(
    () => readProjectConfig(project, { state }),
    /config\.yaml:2: core\.jobs must be a positive integer/,
  );
});

test("a remote name with other characters is refused", async () => {
  await using dir = await tempDir();
  await dir.write(".pivot/config.yaml", 'remotes:\n  "my remote":\n    url: /x\n');
  await assertPivotError(
    () => readProjectConfig(projectAt(dir.root)),
    /config\.yaml:2: remote name 'my remote' may use only letters, digits/,
  );
});

test("core.history is a whole number of runs, 100 by default", async () => {
  await using dir = await tempDir();
  const project = projectAt(dir.root);
  assertEquals((await readProjectConfig(project)).history, 100);
  await dir.write(".pivot/config.yaml", "# runs kept\ncore:\n  history: 0\n");
  assertEquals((await readProjectConfig(project)).history, 0);
  await dir.write(".pivot/config.yaml", "core:\n  history: -1\n");
  await assertPivotError(
    () => readProjectConfig(project),
    /config\.yaml:2: core\.history must be a whole number/,
  );
});
