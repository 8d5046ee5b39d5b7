/**
 * The POSIX path helpers of `lib/paths.ts` that the launcher uses instead of
 * `node:path` (start-up cost): they must agree with `node:path`.
 */

import { dirname, resolve } from "node:path";
import { absolutePath, listedPaths, parentDir } from "../lib/paths.ts";
import { findDenoConfig } from "../lib/pipeline/deno_config.ts";
import { assertEquals } from "./_assert.ts";
import { test } from "./_harness.ts";
import { tempDir } from "./_project.ts";

test("parentDir is node:path's dirname for absolute paths", () => {
  for (const path of ["/", "/a", "/a/", "/a/b", "/a/b/", "/a b/c.d/e"]) {
    assertEquals(parentDir(path), dirname(path), path);
  }
});

test("absolutePath is node:path's resolve(base, path)", () => {
  const cases: [string, string][] = [
    ["/home/me", "."],
    ["/home/me", "sub"],
    ["/home/me", "sub/"],
    ["/home/me", "../you/./p/"],
    ["/home/me", "../../../.."],
    ["/home/me", "/abs/./x/../y"],
    ["/", ".."],
    ["/home/me", "a//b"],
  ];
  for (const [base, path] of cases) {
    assertEquals(absolutePath(base, path), resolve(base, path), `${base} + ${path}`);
  }
});

test("findDenoConfig finds the nearest deno.json or deno.jsonc, in the directory or above", async () => {
  await using dir = await tempDir();
  await Deno.mkdir(dir.path("a/b/c"), { recursive: true });
  assertEquals(findDenoConfig(dir.path("a/b/c")), undefined);
  await Deno.writeTextFile(dir.path("a/deno.jsonc"), "{}");
  assertEquals(findDenoConfig(dir.path("a/b/c")), dir.path("a/deno.jsonc"));
  await Deno.writeTextFile(dir.path("a/b/deno.json"), "{}");
  assertEquals(findDenoConfig(dir.path("a/b/c")), dir.path("a/b/deno.json"));
  assertEquals(findDenoConfig(`${dir.path("a/b/c")}/`), dir.path("a/b/deno.json"));
  assertEquals(findDenoConfig(dir.path("a")), dir.path("a/deno.jsonc"));
});

test("listedPaths: the paths present in their directories, one listing a directory", async () => {
  await using dir = await tempDir();
  await Deno.mkdir(`${dir.root}/a/sub`, { recursive: true });
  await Deno.writeTextFile(`${dir.root}/a/x.lock`, "");
  await Deno.writeTextFile(`${dir.root}/a/sub/y.lock`, "");
  await Deno.writeTextFile(`${dir.root}/file`, "");
  const wanted = [
    `${dir.root}/a/x.lock`,
    `${dir.root}/a/missing.lock`,
    `${dir.root}/a/sub/y.lock`,
    `${dir.root}/a/sub`,
    `${dir.root}/nowhere/z.lock`, // a directory that does not exist
    `${dir.root}/file/z.lock`, // a "directory" that is a file
  ];
  assertEquals(
    [...listedPaths(wanted)].sort(),
    [`${dir.root}/a/sub`, `${dir.root}/a/sub/y.lock`, `${dir.root}/a/x.lock`],
  );
});
