/**
 * `resolveArtifact`'s shortcut for plain paths (joined and made
 * project-relative by string operations) answers as `node:path` does, and
 * its refusals (outside the project, `.pivot/`, `.git/`) are unchanged.
 */

import { relative, resolve } from "node:path";
import { plainJoin, resolveArtifact } from "../../lib/pipeline/_resolve_declared.ts";
import { PivotError } from "../../lib/errors.ts";
import { FILES_KIND } from "../../lib/model/returned_files.ts";
import { projectAt } from "../../lib/model/project.ts";
import { assertEquals, assertThrows } from "../_assert.ts";
import { test } from "../_harness.ts";
import { tempDir } from "../_project.ts";

/** `text` as a pattern that matches it literally. */
const literal = (text: string) => new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));

const DIRS = ["/p/root", "/p/root/sub", "/p/root/./sub", "/p/root/sub/", "/", "/p//root"];
const PATHS = [
  "a.txt",
  "data/a.txt",
  "data/dir/",
  "./a.txt",
  "../a.txt",
  "data/../a.txt",
  "data/./a.txt",
  "data//a.txt",
  "/abs/a.txt",
  ".hidden/a",
  "..hidden/a",
  "a..b/c.",
  "...",
  "./",
  "/",
];

test("plainJoin is resolve() where it answers, and declines the rest", () => {
  for (const dir of DIRS) {
    for (const path of PATHS) {
      const joined = plainJoin(dir, path);
      if (joined !== undefined) assertEquals(joined, resolve(dir, path), `${dir} + ${path}`);
    }
  }
  assertEquals(plainJoin("/p/root", "data/dir/"), "/p/root/data/dir");
  assertEquals(plainJoin("/", "a.txt"), "/a.txt");
  for (const [dir, path] of [["/p/root", "../a"], ["/p/./root", "a"], ["/p", "a//b"], ["/p", ""]]) {
    assertEquals(plainJoin(dir, path), undefined, `${dir} + ${path}`);
  }
});

test("resolveArtifact gives node:path's absolute and project-relative paths for every form", () => {
  const project = projectAt("/p/root");
  for (const dir of DIRS.filter((dir) => dir.startsWith("/p/root"))) {
    for (const path of PATHS) {
      const abs = resolve(dir, path);
      const artifact = (() => {
        try {
          return resolveArtifact(project, dir, "s", {
            name: "x",
            path,
            what: "dep",
            loader: undefined,
          }, () => "pipeline.ts:1");
        } catch (error) {
          if (error instanceof PivotError) return undefined; // inside .pivot/
          throw error;
        }
      })();
      if (artifact === undefined) continue;
      assertEquals(artifact.abs, abs, `${dir} + ${path}`);
      assertEquals(artifact.path, relative("/p/root", abs), `${dir} + ${path}`);
      assertEquals(artifact.isDir, path.endsWith("/"));
    }
  }
});

test("resolveArtifact refuses outs outside the project, in .pivot/ and in .git/, by any path", () => {
  const project = projectAt("/p/root");
  const out = (path: string, dir = "/p/root") =>
    resolveArtifact(
      project,
      dir,
      "train",
      { name: "model", path, what: "out", loader: undefined },
      () => "pipeline.ts:3",
    );
  assertThrows(
    () => out("../x.txt"),
    PivotError,
    literal("pipeline.ts:3: stage 'train': out 'model' (../x.txt) is outside the project /p/root"),
  );
  assertThrows(() => out("/elsewhere/x"), PivotError, literal("is outside the project"));
  assertThrows(() => out("x", "/p/rooted"), PivotError, literal("is outside the project"));
  assertThrows(
    () => out(".pivot/x"),
    PivotError,
    literal(
      "pipeline.ts:3: stage 'train': out 'model' (.pivot/x) is inside .pivot/, which Pivot owns",
    ),
  );
  assertThrows(() => out("a/../.pivot/x"), PivotError, literal("is inside .pivot/"));
  assertThrows(() => out(".pivot"), PivotError, literal("is inside .pivot/"));
  assertThrows(
    () => out("sub/.git/x"),
    PivotError,
    literal("pipeline.ts:3: stage 'train': out 'model' (sub/.git/x) is inside a .git/ directory"),
  );
  assertThrows(() => out(".git"), PivotError, literal("is inside a .git/ directory"));
  // Near misses are ordinary paths.
  assertEquals(out(".pivotal/x").path, ".pivotal/x");
  assertEquals(out("sub/.gitignore").path, "sub/.gitignore");
  assertEquals(out("x.git/y").path, "x.git/y");
});

test("a dep may lie outside the project: its path is relative to the root", () => {
  const project = projectAt("/p/root");
  const dep = resolveArtifact(project, "/p/root/sub", "s", {
    name: "d",
    path: "../../shared/a.csv",
    what: "dep",
    loader: undefined,
  }, () => "pipeline.ts:1");
  assertEquals(dep.abs, "/p/shared/a.csv");
  assertEquals(dep.path, "../shared/a.csv");
  assertThrows(
    () =>
      resolveArtifact(project, "/p/root", "s", {
        name: "d",
        path: ".pivot/cache/x",
        what: "dep",
        loader: undefined,
      }, () => "pipeline.ts:1"),
    PivotError,
    literal("dep 'd' (.pivot/cache/x) is inside .pivot/"),
  );
});

test("an out through a symbolic link out of the project is refused in every load; a directory made later is checked afresh", async () => {
  await using dir = await tempDir();
  await using outside = await tempDir();
  const root = await Deno.realPath(dir.path());
  const project = projectAt(root);
  await Deno.mkdir(`${root}/inside`);
  await Deno.symlink(outside.path(), `${root}/escape`);
  let load = new Set<string>(); // what one load shares
  const out = (path: string) =>
    resolveArtifact(
      project,
      root,
      "s",
      { name: "o", path, what: "out", loader: undefined },
      () => "pipeline.ts:1",
      load,
    );
  assertEquals(out("inside/a.txt").path, "inside/a.txt");
  assertEquals(out("inside/b.txt").path, "inside/b.txt");
  assertEquals([...load], [`${root}/inside`]);
  for (const name of ["a.txt", "b.txt"]) {
    assertThrows(
      () => out(`escape/${name}`),
      PivotError,
      /leads outside the project through a symbolic link/,
    );
  }
  // Absent in one load (nothing to resolve yet), a link out of the project in the next.
  assertEquals(out("later/a.txt").path, "later/a.txt");
  await Deno.symlink(outside.path(), `${root}/later`);
  load = new Set();
  assertThrows(
    () => out("later/b.txt"),
    PivotError,
    /leads outside the project through a symbolic link/,
  );
});

test("resolveArtifact refuses loaders.files() on a path that is not a directory's (a pivot.yaml override)", () => {
  const project = projectAt("/p/root");
  const files = { kind: FILES_KIND, options: { text: false } };
  const declare = (path: string, what: "dep" | "out") =>
    resolveArtifact(
      project,
      "/p/root",
      "pages",
      { name: "site", path, what, loader: files },
      () => "pivot.yaml:4",
    );
  for (const what of ["dep", "out"] as const) {
    assertThrows(
      () => declare("site.txt", what),
      PivotError,
      literal(
        `pivot.yaml:4: stage 'pages': ${what} 'site' (site.txt) uses loaders.files(), which is for a directory: end its path with '/'`,
      ),
    );
    assertEquals(declare("site/", what).isDir, true);
  }
});
