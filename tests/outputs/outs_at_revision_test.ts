import { join } from "node:path";
import { stringify } from "yaml";
import {
  lockedOutsAt,
  lockFilesFor,
  outsAt,
  readOutFile,
  WORKSPACE,
} from "../../lib/outputs/outs_at_revision.ts";
import { Cache } from "../../lib/storage/cache.ts";
import { hashBytes } from "../../lib/storage/hash.ts";
import { NS, StateStore } from "../../lib/storage/state.ts";
import { PivotError } from "../../lib/errors.ts";
import { assertEquals, assertMatch, assertRejects } from "../_assert.ts";
import { test } from "../_harness.ts";
import { type TempDir, tempDir } from "../_project.ts";

/** A lock file holding `outs` (and the other keys every lock file has, empty). */
function lockText(lock: { outs: unknown[] }): string {
  return stringify({ code_manifest: {}, deps: [], params: {}, ...lock });
}

/** A git project with a cache: `roc.csv` (a file out) and `imgs/` (a directory out) locked by stage `eval`. */
async function gitProject(): Promise<TempDir & { cache: Cache; lock: string }> {
  const repo = await tempDir();
  await repo.initGit();
  const cache = new Cache(repo.path(".pivot", "cache"));
  const lock = repo.path(".pivot", "stages", "eval.lock");
  await Deno.mkdir(repo.path(".pivot", "stages"), { recursive: true });
  await repo.write(".gitignore", ".pivot/cache/\n");
  return Object.assign(repo, { cache, lock });
}

/** Cache `text` as an object; returns its hash. */
async function store(cache: Cache, dir: string, text: string): Promise<string> {
  const hash = await hashBytes(text);
  const source = join(dir, `source-${hash}`);
  await Deno.writeTextFile(source, text);
  await cache.storeFile(source, hash, false);
  await Deno.remove(source);
  return hash;
}

test("an out at a revision comes from the cache by the hash its lock file had there", async () => {
  await using project = await gitProject();
  const { root, cache, lock } = project;
  const old = await store(cache, root, "fpr,tpr\n0,0\n");
  await Deno.writeTextFile(
    lock,
    lockText({ outs: [{ path: "roc.csv", hash: old, kind: "plot" }] }),
  );
  await project.commitAll("old");
  // The workspace moves on: a new lock, a new file; neither is what HEAD had.
  const now = await store(cache, root, "fpr,tpr\n0,0\n1,1\n");
  await Deno.writeTextFile(
    lock,
    lockText({ outs: [{ path: "roc.csv", hash: now, kind: "plot" }] }),
  );
  await Deno.writeTextFile(join(root, "roc.csv"), "fpr,tpr\n0,0\n1,1\n");

  const wanted = [{ path: "roc.csv", isDir: false }];
  const head = (await outsAt({ kind: "revision", rev: "HEAD" }, wanted, {
    root,
    cache,
    lockFiles: [lock],
  })).get("roc.csv")!;
  assertEquals(head, {
    found: true,
    files: [{ path: "roc.csv", file: cache.objectPath(old), hash: old }],
  });
  if (!head.found) throw new Error(head.reason);
  assertEquals(new TextDecoder().decode(await readOutFile(head.files[0])), "fpr,tpr\n0,0\n");
  const workspace = (await outsAt(WORKSPACE, wanted, { root, cache, lockFiles: [] })).get(
    "roc.csv",
  );
  assertEquals(workspace, {
    found: true,
    files: [{ path: "roc.csv", file: join(root, "roc.csv") }],
  });
});

test("a directory out at a revision is expanded through its manifest", async () => {
  await using project = await gitProject();
  const { root, cache, lock } = project;
  const a = await store(cache, root, "<svg/>");
  const b = await store(cache, root, "<svg></svg>");
  const dir = await cache.storeManifest({
    files: [{ path: "a.svg", hash: a }, { path: "sub/b.svg", hash: b }],
  });
  await Deno.writeTextFile(
    lock,
    lockText({ outs: [{ path: "imgs", hash: dir, kind: "plot" }] }),
  );
  await project.commitAll("c");
  const found = (await outsAt({ kind: "revision", rev: "HEAD" }, [{ path: "imgs", isDir: true }], {
    root,
    cache,
    lockFiles: [lock],
  })).get("imgs");
  assertEquals(found, {
    found: true,
    files: [
      { path: "imgs/a.svg", file: cache.objectPath(a), hash: a },
      { path: "imgs/sub/b.svg", file: cache.objectPath(b), hash: b },
    ],
  });
});

test("content the cache lacks, or an out no lock recorded, is reported with the reason", async () => {
  await using project = await gitProject();
  const { root, cache, lock } = project;
  await Deno.writeTextFile(
    lock,
    lockText({ outs: [{ path: "roc.csv", hash: "00000000000000aa", kind: "plot" }] }),
  );
  await project.commitAll("c");
  const wanted = [{ path: "roc.csv", isDir: false }, { path: "other.csv", isDir: false }];
  const found = await outsAt({ kind: "revision", rev: "HEAD" }, wanted, {
    root,
    cache,
    lockFiles: [lock],
  });
  const roc = found.get("roc.csv")!;
  const other = found.get("other.csv")!;
  assertMatch(
    roc.found ? "" : roc.reason,
    /^its content \(00000000000000aa\) is not in the cache: fetch it/,
  );
  assertEquals(other, { found: false, reason: "no lock file at HEAD records it" });
  const workspace = await outsAt(WORKSPACE, wanted, { root, cache, lockFiles: [] });
  assertEquals(workspace.get("roc.csv"), { found: false, reason: "not in the workspace" });
});

test("a corrupt cache object is never used", async () => {
  await using project = await gitProject();
  const { root, cache } = project;
  const hash = await store(cache, root, "a,b\n1,2\n");
  const object = cache.objectPath(hash);
  await Deno.chmod(object, 0o644);
  await Deno.writeTextFile(object, "a,b\n6,6\n");
  await assertRejects(
    () => readOutFile({ path: "m.csv", file: object, hash }),
    new RegExp(`^m\\.csv: cache object ${hash} is corrupt`),
  );
});

test("the lock files of the project at a revision are listed, and their outs read in one pass", async () => {
  await using project = await gitProject();
  const { root, lock } = project;
  await Deno.writeTextFile(
    lock,
    lockText({ outs: [{ path: "a.csv", hash: "1111111111111111", kind: "plot" }] }),
  );
  await Deno.writeTextFile(
    join(root, ".pivot", "stages", "gone.lock"),
    lockText({ outs: [{ path: "b.csv", hash: "2222222222222222", kind: "out" }] }),
  );
  await project.commitAll("c");
  await Deno.remove(join(root, ".pivot", "stages", "gone.lock"));
  const files = await lockFilesFor(root, [], [{ kind: "revision", rev: "HEAD" }]);
  assertEquals(files.map((file) => file.slice(root.length + 1)), [
    ".pivot/stages/eval.lock",
    ".pivot/stages/gone.lock",
  ]);
  const outs = await lockedOutsAt(root, files, "HEAD");
  assertEquals([...outs.values()], [
    { path: "a.csv", hash: "1111111111111111", kind: "plot", stage: "eval" },
    { path: "b.csv", hash: "2222222222222222", kind: "out", stage: "gone" },
  ]);
});

test("lock files read at a revision are parsed once per text: a changed or damaged one is read afresh", async () => {
  await using project = await gitProject();
  const { root, lock } = project;
  const state = await StateStore.open(join(root, ".pivot", "state"));
  try {
    const outs = async (
      rev: string,
    ) => [...(await lockedOutsAt(root, [lock], rev, { state })).values()];
    await Deno.writeTextFile(
      lock,
      lockText({ outs: [{ path: "m.json", hash: "1111111111111111", kind: "metric" }] }),
    );
    await project.commitAll("first");
    const first = [{ path: "m.json", hash: "1111111111111111", kind: "metric", stage: "eval" }];
    assertEquals(await outs("HEAD"), first);
    await state.flush();
    const remembered = await state.list([NS.lock]);
    assertEquals(remembered.length, 1);
    assertEquals(await outs("HEAD"), first);
    // The declaration changes (an out is no metric any more): the new text is parsed.
    await Deno.writeTextFile(
      lock,
      lockText({ outs: [{ path: "m.json", hash: "2222222222222222", kind: "out" }] }),
    );
    await project.commitAll("second");
    assertEquals(await outs("HEAD"), [
      { path: "m.json", hash: "2222222222222222", kind: "out", stage: "eval" },
    ]);
    assertEquals(await outs("HEAD~1"), first);
    // A damaged lock file is an error, whatever was remembered before.
    await Deno.writeTextFile(lock, lockText({ outs: [{ path: "m.json" }] }));
    await project.commitAll("damaged");
    await assertRejects(() => outs("HEAD"), PivotError, /eval\.lock at HEAD/);
  } finally {
    state.kv.close();
  }
});

test("in the workspace, the lock files of every pipeline are found, outside the skipped cache", async () => {
  await using project = await gitProject();
  const { root } = project;
  for (const dir of ["sub", "cache"]) {
    await Deno.mkdir(join(root, dir, ".pivot", "stages"), { recursive: true });
    await Deno.writeTextFile(join(root, dir, ".pivot", "stages", "s.lock"), lockText({ outs: [] }));
  }
  await Deno.writeTextFile(project.lock, lockText({ outs: [] }));
  const files = await lockFilesFor(root, [], [WORKSPACE], [join(root, "cache")]);
  assertEquals(files.map((file) => file.slice(root.length + 1)), [
    ".pivot/stages/eval.lock",
    "sub/.pivot/stages/s.lock",
  ]);
});

test("reading a revision leaves the git index and the workspace as they were", async () => {
  await using project = await gitProject();
  const { root, cache, lock } = project;
  const hash = await store(cache, root, "x\n1\n");
  await Deno.writeTextFile(lock, lockText({ outs: [{ path: "p.csv", hash, kind: "plot" }] }));
  await project.commitAll("c");
  await Deno.writeTextFile(lock, "outs: []\n");
  // `git status` may refresh the index: run it before taking the index's bytes.
  const status = await project.git("status", "--porcelain");
  const index = await Deno.readFile(join(root, ".git", "index"));
  await outsAt({ kind: "revision", rev: "HEAD" }, [{ path: "p.csv", isDir: false }], {
    root,
    cache,
    lockFiles: [lock],
  });
  assertEquals(await Deno.readFile(join(root, ".git", "index")), index);
  assertEquals(await Deno.readTextFile(lock), "outs: []\n");
  assertEquals(await project.git("status", "--porcelain"), status);
});

test("an unknown revision is a one-line error", async () => {
  await using project = await gitProject();
  const { root, cache, lock } = project;
  await project.git("commit", "-q", "--allow-empty", "-m", "c");
  await assertRejects(
    () => outsAt({ kind: "revision", rev: "nope" }, [], { root, cache, lockFiles: [lock] }),
    /^unknown git revision 'nope': name a commit, branch or tag$/,
  );
});
