import { assertEquals } from "../_assert.ts";
import { ignoreInGit, ignorePattern, unignoreInGit } from "../../lib/storage/gitignore.ts";
import { tempDir } from "../_helpers.ts";

Deno.test("ignorePattern anchors the name and escapes gitignore's special characters", () => {
  assertEquals(ignorePattern("model.json"), "/model.json");
  assertEquals(ignorePattern("a*b?[c]\\"), "/a\\*b\\?\\[c\\]\\\\");
  assertEquals(ignorePattern("#x"), "/#x");
  assertEquals(ignorePattern("trailing "), "/trailing\\ ");
});

Deno.test("unignoreInGit removes only its line, and the file once nothing is left", async () => {
  await using dir = await tempDir();
  const root = dir.path;
  await Deno.writeTextFile(dir.join(".gitignore"), "*.log\n");
  ignoreInGit(root, dir.join("data"));
  ignoreInGit(root, dir.join("images"));
  assertEquals(await Deno.readTextFile(dir.join(".gitignore")), "*.log\n/data\n/images\n");
  unignoreInGit(dir.join("data"));
  assertEquals(await Deno.readTextFile(dir.join(".gitignore")), "*.log\n/images\n");
  unignoreInGit(dir.join("data"));
  await Deno.writeTextFile(dir.join(".gitignore"), "/images\n");
  unignoreInGit(dir.join("images"));
  assertEquals(await Deno.stat(dir.join(".gitignore")).then(() => true, () => false), false);
  // Listed again after being removed (the process forgot it had checked).
  ignoreInGit(root, dir.join("images"));
  assertEquals(await Deno.readTextFile(dir.join(".gitignore")), "/images\n");
});
