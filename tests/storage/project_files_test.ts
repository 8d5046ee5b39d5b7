/**
 * `findProjectFiles` on a real directory tree: lock files of every pipeline
 * and `.pvt` files, and the walk that lists `.pvt` files only.
 */

import { findProjectFiles } from "../../lib/storage/project_files.ts";
import { assertEquals } from "../_assert.ts";
import { test } from "../_harness.ts";
import { tempDir } from "../_project.ts";

test("lock files of every pipeline and .pvt files; without lock files .pivot/ is not read", async () => {
  await using dir = await tempDir();
  await dir.write(".pivot/stages/a.lock", "");
  await dir.write("sub/.pivot/stages/b.lock", "");
  await dir.write("data/raw.csv.pvt", "");
  await dir.write("data/raw.csv", "");
  await dir.write("deep/er/images.pvt", "");
  await dir.write("deep/er/images/1.png", "");
  await dir.write("node_modules/x/y.pvt", "");
  const all = findProjectFiles(dir.root);
  assertEquals(all.lockFiles, [
    dir.path(".pivot/stages/a.lock"),
    dir.path("sub/.pivot/stages/b.lock"),
  ]);
  const tracked = [dir.path("data/raw.csv.pvt"), dir.path("deep/er/images.pvt")];
  assertEquals(all.trackFiles, tracked);
  const only = findProjectFiles(dir.root, [], { lockFiles: false });
  assertEquals(only, { lockFiles: [], trackFiles: tracked });
});
