import { assertEquals } from "../_assert.ts";
import { ignoreInGit, ignorePattern, unignoreInGit } from "../../lib/storage/gitignore.ts";
import { tempDir } from "../_project.ts";
import { test } from "../_harness.ts";

test("ignorePattern anchors the name and escapes gitignore's special characters", () => {
  assertEquals(ignorePattern("model.json"), "/model.json");
  assertEquals(ignorePattern("a*b?[c]\\"), "/a\\*b\\?\\[c\\]\\\\");
  assertEquals(ignorePattern("#x"), "/#x");
  assertEquals(ignorePattern("trailing "), "/trailing\\ ");
});

test("unignoreInGit removes only its line, and the file once nothing is left", async () => {
  await using dir = await tempDir();
  const root = dir.root;
  await Deno.writeTextFile(dir.path(".gitignore"), "*.log\n");
  ignoreInGit(root, dir.path("data"));
  ignoreInGit(root, dir.path("images"));
  assertEquals(await Deno.readTextFile(dir.path(".gitignore")), "*.log\n/data\n/images\n");
  unignoreInGit(dir.path("data"));
  assertEquals(await Deno.readTextFile(dir.path(".gitignore")), "*.log\n/images\n");
  unignoreInGit(dir.path("data"));
  await Deno.writeTextFile(dir.path(".gitignore"), "/images\n");
  unignoreInGit(dir.path("images"));
  assertEquals(await Deno.stat(dir.path(".gitignore")).then(() => true, () => false), false);
  // Listed again after being removed (the process forgot it had checked).
  ignoreInGit(root, dir.path("images"));
  assertEquals(await Deno.readTextFile(dir.path(".gitignore")), "/images\n");
});
