import { join } from "node:path";
import { PivotError } from "../../lib/errors.ts";
import { listFilesAtRevision, readFilesAtRevision } from "../../lib/storage/read_at_revision.ts";
import { assert, assertEquals, assertRejects } from "../_assert.ts";

/** One file's text at `rev`, through `readFilesAtRevision`. */
async function readFileAtRevision(dir: string, path: string, rev?: string) {
  return (await readFilesAtRevision(dir, [path], rev)).get(path);
}

async function run(dir: string, ...args: string[]): Promise<string> {
  const { code, stdout, stderr } = await new Deno.Command("git", { args, cwd: dir }).output();
  const text = new TextDecoder().decode(stdout);
  if (code !== 0) throw new Error(`git ${args.join(" ")}: ${new TextDecoder().decode(stderr)}`);
  return text.trim();
}

/** A temporary git repository; `fn` gets its directory. */
async function withRepo(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "pivot-git-" }));
  try {
    await run(dir, "init", "-q");
    await run(dir, "config", "user.email", "test@example.com");
    await run(dir, "config", "user.name", "Test");
    await run(dir, "config", "commit.gpgsign", "false");
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function commit(dir: string, files: Record<string, string>, message = "c"): Promise<void> {
  for (const [path, text] of Object.entries(files)) {
    await Deno.mkdir(join(dir, path, ".."), { recursive: true });
    await Deno.writeTextFile(join(dir, path), text);
  }
  await run(dir, "add", "-A");
  await run(dir, "commit", "-q", "-m", message);
}

Deno.test("reads a file as committed at HEAD, not as in the workspace", async () => {
  await withRepo(async (dir) => {
    await commit(dir, { "params.yaml": "train: { epochs: 10 }\n" });
    await Deno.writeTextFile(join(dir, "params.yaml"), "train: { epochs: 20 }\n");
    assertEquals(await readFileAtRevision(dir, "params.yaml"), "train: { epochs: 10 }\n");
  });
});

Deno.test("reads a file at an older revision given as --rev", async () => {
  await withRepo(async (dir) => {
    await commit(dir, { "params.yaml": "one\n" });
    await commit(dir, { "params.yaml": "two\n" });
    assertEquals(await readFileAtRevision(dir, "params.yaml", "HEAD~1"), "one\n");
  });
});

Deno.test("a file absent at the revision reads as undefined", async () => {
  await withRepo(async (dir) => {
    await commit(dir, { "a.txt": "a" });
    await Deno.writeTextFile(join(dir, "params.yaml"), "new\n");
    assertEquals(await readFileAtRevision(dir, "params.yaml"), undefined);
  });
});

Deno.test("a repository without commits has nothing at HEAD", async () => {
  await withRepo(async (dir) => {
    assertEquals(await readFileAtRevision(dir, "params.yaml"), undefined);
  });
});

Deno.test("paths are relative to a project directory inside the repository", async () => {
  await withRepo(async (dir) => {
    await commit(dir, { "sub/project/.pivot/stages/train.lock": "lock\n", "params.yaml": "root" });
    const project = join(dir, "sub", "project");
    assertEquals(await readFileAtRevision(project, ".pivot/stages/train.lock"), "lock\n");
    assertEquals(
      await readFileAtRevision(project, join(project, ".pivot/stages/train.lock")),
      "lock\n",
    );
    assertEquals(await readFileAtRevision(project, "../../params.yaml"), "root");
  });
});

Deno.test("many files are read at once, with exact bytes and missing ones undefined", async () => {
  await withRepo(async (dir) => {
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
});

Deno.test("an unknown revision is a PivotError", async () => {
  await withRepo(async (dir) => {
    await commit(dir, { "a.txt": "a" });
    const error = await assertRejects(() => readFileAtRevision(dir, "a.txt", "nope"));
    assert(error instanceof PivotError);
    assertEquals(error.message, "unknown git revision 'nope': name a commit, branch or tag");
  });
});

Deno.test("a revision that looks like an option is refused", async () => {
  await withRepo(async (dir) => {
    const error = await assertRejects(() => readFileAtRevision(dir, "a.txt", "--all"));
    assertEquals(error.message, `invalid git revision "--all": name a commit, branch or tag`);
  });
});

Deno.test("a directory outside any git repository is a PivotError", async () => {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "pivot-nogit-" }));
  try {
    const probe = new Deno.Command("git", { args: ["rev-parse"], cwd: dir, stderr: "null" });
    // Nothing to test when this machine's temp directory sits inside a repository.
    if ((await probe.output()).code === 0) return;
    const error = await assertRejects(() => readFileAtRevision(dir, "params.yaml"));
    assert(error instanceof PivotError);
    assertEquals(
      error.message,
      `${dir} is not in a git repository: comparing with a revision needs git`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("lists the files of a directory as committed, from a sub-directory too", async () => {
  await withRepo(async (dir) => {
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
});

Deno.test("a directory absent at the revision lists nothing", async () => {
  await withRepo(async (dir) => {
    assertEquals(await listFilesAtRevision(dir, ".pivot/stages"), []);
    await commit(dir, { "a.txt": "a" });
    assertEquals(await listFilesAtRevision(dir, ".pivot/stages"), []);
    assertEquals(await listFilesAtRevision(dir, "a.txt"), []);
  });
});
