import { dirname, join } from "node:path";
import { PivotError } from "../../lib/errors.ts";
import { listFilesAtRevision, readFilesAtRevision } from "../../lib/storage/read_at_revision.ts";
import { assert, assertEquals, assertRejects } from "../_assert.ts";
import { TempDir, tempDir } from "../_project.ts";
import { test } from "../_harness.ts";

/** One file's text at `rev`, through `readFilesAtRevision`. */
async function readFileAtRevision(dir: string, path: string, rev?: string) {
  return (await readFilesAtRevision(dir, [path], rev)).get(path);
}

/** A temporary git repository. */
async function gitRepo(): Promise<TempDir> {
  const repo = await tempDir();
  await repo.initGit();
  return repo;
}

/** Write `files` in the repository at `dir` and commit everything. */
async function commit(dir: string, files: Record<string, string>, message = "c"): Promise<void> {
  const repo = new TempDir(dir);
  for (const [path, text] of Object.entries(files)) await repo.write(path, text);
  await repo.commitAll(message);
}

test("reads a file as committed at HEAD, not as in the workspace", async () => {
  await using repo = await gitRepo();
  const dir = repo.root;
  await commit(dir, { "params.yaml": "train: { epochs: 10 }\n" });
  await Deno.writeTextFile(join(dir, "params.yaml"), "train: { epochs: 20 }\n");
  assertEquals(await readFileAtRevision(dir, "params.yaml"), "train: { epochs: 10 }\n");
});

test("reads a file at an older revision given as --rev", async () => {
  await using repo = await gitRepo();
  const dir = repo.root;
  await commit(dir, { "params.yaml": "one\n" });
  await commit(dir, { "params.yaml": "two\n" });
  assertEquals(await readFileAtRevision(dir, "params.yaml", "HEAD~1"), "one\n");
});

test("a file absent at the revision reads as undefined", async () => {
  await using repo = await gitRepo();
  const dir = repo.root;
  await commit(dir, { "a.txt": "a" });
  await Deno.writeTextFile(join(dir, "params.yaml"), "new\n");
  assertEquals(await readFileAtRevision(dir, "params.yaml"), undefined);
});

test("a repository without commits has nothing at HEAD", async () => {
  await using repo = await gitRepo();
  const dir = repo.root;
  assertEquals(await readFileAtRevision(dir, "params.yaml"), undefined);
});

test("paths are relative to a project directory inside the repository", async () => {
  await using repo = await gitRepo();
  const dir = repo.root;
  await commit(dir, { "sub/project/.pivot/stages/train.lock": "lock\n", "params.yaml": "root" });
  const project = join(dir, "sub", "project");
  assertEquals(await readFileAtRevision(project, ".pivot/stages/train.lock"), "lock\n");
  assertEquals(
    await readFileAtRevision(project, join(project, ".pivot/stages/train.lock")),
    "lock\n",
  );
  assertEquals(await readFileAtRevision(project, "../../params.yaml"), "root");
});

test("many files are read at once, with exact bytes and missing ones undefined", async () => {
  await using repo = await gitRepo();
  const dir = repo.root;
  const files = {
    "a.txt": "no trailing newline",
    "b.txt": "ünïcödé ✓\nline 2\n",
    "empty.txt": "",
    "dir/c.txt": "c\n",
  };
  await commit(dir, files);
  const read = await readFilesAtRevision(dir, ["a.txt", "gone.txt", "b.txt", "empty.txt", "dir"]);
  assertEquals([...read.entries()], [
    ["a.txt", "no trailing newline"],
    ["gone.txt", undefined],
    ["b.txt", "ünïcödé ✓\nline 2\n"],
    ["empty.txt", ""],
    ["dir", undefined],
  ]);
});

test("an unknown revision is a PivotError", async () => {
  await using repo = await gitRepo();
  const dir = repo.root;
  await commit(dir, { "a.txt": "a" });
  const error = await assertRejects(() => readFileAtRevision(dir, "a.txt", "nope"));
  assert(error instanceof PivotError);
  assertEquals(error.message, "unknown git revision 'nope': name a commit, branch or tag");
});

test("a revision that looks like an option is refused", async () => {
  await using repo = await gitRepo();
  const dir = repo.root;
  const error = await assertRejects(() => readFileAtRevision(dir, "a.txt", "--all"));
  assertEquals(error.message, `invalid git revision "--all": name a commit, branch or tag`);
});

test("a directory outside any git repository is a PivotError", async () => {
  await using temp = await tempDir();
  const dir = temp.root;
  // Even if this machine's temp directory sits inside a repository, git
  // must not look above `dir`.
  const ceiling = Deno.env.get("GIT_CEILING_DIRECTORIES");
  Deno.env.set("GIT_CEILING_DIRECTORIES", dirname(dir));
  try {
    const error = await assertRejects(() => readFileAtRevision(dir, "params.yaml"), PivotError);
    assertEquals(
      error.message,
      `${dir} is not in a git repository: comparing with a revision needs git`,
    );
  } finally {
    if (ceiling === undefined) Deno.env.delete("GIT_CEILING_DIRECTORIES");
    else Deno.env.set("GIT_CEILING_DIRECTORIES", ceiling);
  }
});

test("lists the files of a directory as committed, from a sub-directory too", async () => {
  await using repo = await gitRepo();
  const dir = repo.root;
  await commit(dir, {
    "proj/.pivot/stages/b.lock": "b",
    "proj/.pivot/stages/a.lock": "a",
    "proj/.pivot/stages/sub/c.lock": "c",
  });
  await Deno.writeTextFile(join(dir, "proj/.pivot/stages/new.lock"), "n");
  assertEquals(await listFilesAtRevision(join(dir, "proj"), ".pivot/stages"), [
    "a.lock",
    "b.lock",
  ]);
  assertEquals(await listFilesAtRevision(dir, join(dir, "proj/.pivot/stages")), [
    "a.lock",
    "b.lock",
  ]);
});

test("a directory absent at the revision lists nothing", async () => {
  await using repo = await gitRepo();
  const dir = repo.root;
  assertEquals(await listFilesAtRevision(dir, ".pivot/stages"), []);
  await commit(dir, { "a.txt": "a" });
  assertEquals(await listFilesAtRevision(dir, ".pivot/stages"), []);
  assertEquals(await listFilesAtRevision(dir, "a.txt"), []);
});
