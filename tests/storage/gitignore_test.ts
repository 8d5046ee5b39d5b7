import { assertEquals, assertThrows } from "../_assert.ts";
import {
  ignoreInGit,
  ignoreInGitLater,
  ignorePattern,
  unignoreInGit,
  writeQueuedIgnores,
} from "../../lib/storage/gitignore.ts";
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

test("ignoreInGit sees edits made behind its back after it read or wrote the file", async () => {
  await using dir = await tempDir();
  const root = dir.root;
  const file = dir.path(".gitignore");
  ignoreInGit(root, dir.path("a.txt"));
  assertEquals(await Deno.readTextFile(file), "/a.txt\n");
  // The user lists b.txt themselves, without a final newline: not listed twice,
  // and the next line starts on a line of its own.
  await Deno.writeTextFile(file, "/a.txt\n/b.txt\n*.tmp");
  ignoreInGit(root, dir.path("b.txt"));
  ignoreInGit(root, dir.path("c.txt"));
  assertEquals(await Deno.readTextFile(file), "/a.txt\n/b.txt\n*.tmp\n/c.txt\n");
  // Removed: made again with the new line only.
  await Deno.remove(file);
  ignoreInGit(root, dir.path("d.txt"));
  assertEquals(await Deno.readTextFile(file), "/d.txt\n");
});

test("ignoreInGit lists many names in one directory once each, in order", async () => {
  await using dir = await tempDir();
  const names = Array.from({ length: 300 }, (_, i) => `s${i}.txt`);
  for (const name of [...names, ...names]) ignoreInGit(dir.root, dir.path(name));
  assertEquals(
    await Deno.readTextFile(dir.path(".gitignore")),
    names.map((name) => `/${name}\n`).join(""),
  );
});

test("ignoreInGitLater writes nothing until writeQueuedIgnores, then every line in queued order", async () => {
  await using dir = await tempDir();
  const root = dir.root;
  await Deno.mkdir(dir.path("out"));
  const file = dir.path("out/.gitignore");
  for (const name of ["s0.txt", "s1.txt", "s10.txt", "s2.txt"]) {
    ignoreInGitLater(root, dir.path(`out/${name}`));
  }
  assertEquals(await Deno.stat(file).then(() => true, () => false), false);
  writeQueuedIgnores();
  assertEquals(await Deno.readTextFile(file), "/s0.txt\n/s1.txt\n/s10.txt\n/s2.txt\n");
  // Nothing left queued; a line queued again is not written twice.
  ignoreInGitLater(root, dir.path("out/s1.txt"));
  writeQueuedIgnores();
  writeQueuedIgnores();
  assertEquals(await Deno.readTextFile(file), "/s0.txt\n/s1.txt\n/s10.txt\n/s2.txt\n");
  // A path outside the project is refused when queued, not when written.
  assertThrows(() => ignoreInGitLater(root, "/elsewhere/x.txt"), /not inside the project/);
  writeQueuedIgnores();
});
