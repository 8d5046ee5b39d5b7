import { listTree, runPivot, tempDir, TempProject } from "../_project.ts";
import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { test } from "../_harness.ts";

const PIPELINE = `import { dep, loaders, metric, out, Pipeline } from "jsr:@pivot/core";
export const pipeline = new Pipeline("cmds");
pipeline.stage({
  name: "make",
  deps: { src: dep("data/in.txt", loaders.text()) },
  outs: { o: out("build/made.txt", loaders.text()), m: metric("build/m.json") },
  mutex: ["gpu"],
  run: ({ src }) => ({ o: src.repeat(2), m: { n: src.length } }),
});
pipeline.stage({
  name: "tree",
  deps: { made: dep("build/made.txt", loaders.text()) },
  outs: { dir: out("build/tree/") },
  run: ({ made }, ctx) => {
    Deno.mkdirSync(ctx.outs.dir + "/sub", { recursive: true });
    Deno.writeTextFileSync(ctx.outs.dir + "/a.txt", made);
    Deno.writeTextFileSync(ctx.outs.dir + "/sub/b.txt", "b");
  },
});
pipeline.stage({
  name: "use_tree",
  deps: { tree: dep("build/tree/") },
  outs: { o: out("build/count.txt", loaders.text()) },
  run: ({ tree }) => ({ o: String([...Deno.readDirSync(tree)].length) }),
});
`;

async function project(): Promise<TempProject> {
  return await TempProject.create({ "pipeline.ts": PIPELINE, "data/in.txt": "ab" });
}

test("list --json has the SPEC §6 shape", async () => {
  await using p = await project();
  const result = await p.pivot("list", "--json");
  assertEquals(result.code, 0, result.stderr);
  assertEquals(JSON.parse(result.stdout), {
    stages: [
      {
        name: "make",
        deps: ["data/in.txt"],
        outs: ["build/made.txt", "build/m.json"],
        mutex: ["gpu"],
        pipeline: "cmds",
      },
      {
        name: "tree",
        deps: ["build/made.txt"],
        outs: ["build/tree/"],
        mutex: [],
        pipeline: "cmds",
      },
      {
        name: "use_tree",
        deps: ["build/tree/"],
        outs: ["build/count.txt"],
        mutex: [],
        pipeline: "cmds",
      },
    ],
  });
  const text = await p.pivot("list", "--deps");
  assertMatch(
    text.stdout,
    /make\n {2}dep {2}data\/in\.txt\n {2}out {2}build\/made\.txt\n {2}out {2}build\/m\.json \(metric\)/,
  );
});

test("dag renders text, dot, mermaid and markdown", async () => {
  await using p = await project();
  const text = await p.pivot("dag", "--stages");
  assertEquals(text.stdout, "make\n  tree  <- make\n    use_tree  <- tree\n");
  const dot = await p.pivot("dag", "--dot");
  assertMatch(dot.stdout, /^digraph pipeline \{/);
  assertMatch(dot.stdout, /label="build\/tree\/", shape=note/);
  const mermaid = await p.pivot("dag", "--mermaid", "--stages");
  assertMatch(mermaid.stdout, /^flowchart TD\n {2}n0\["make"\]/);
  assertMatch(mermaid.stdout, /n0 --> n1/);
  const md = await p.pivot("dag", "--md", "tree");
  assertMatch(md.stdout, /^```mermaid\nflowchart TD/);
  assert(!md.stdout.includes("use_tree"), "dag TARGETS shows targets and their upstream only");
  const both = await p.pivot("dag", "--dot", "--md");
  assertEquals(both.code, 2);
});

test("directory outs are cached as manifests and restored whole", async () => {
  await using p = await project();
  assertEquals((await p.pivot("repro")).code, 0);
  assertEquals(await p.read("build/count.txt"), "2");
  const lock = await p.read(".pivot/stages/use_tree.lock");
  // The directory is its manifest's hash, with its file count and size.
  assertMatch(lock, /- files: 2\n\s+hash: "?[0-9a-f]{16}"?\n\s+path: build\/tree\n\s+size: \d+\n/);
  await Deno.remove(p.path("build/tree"), { recursive: true });
  const { events } = await p.events("repro");
  assertEquals(TempProject.byStatus(events), {
    restored: ["tree"],
    skipped: ["make", "use_tree"],
  });
  assertEquals(await p.read("build/tree/sub/b.txt"), "b");
});

test("outs are files of their own, beside their cache objects (the default mode)", async () => {
  await using p = await project();
  assertEquals((await p.pivot("repro")).code, 0);
  const info = await Deno.stat(p.path("build/made.txt"));
  const lock = await p.read(".pivot/stages/make.lock");
  const hash = /hash: ([0-9a-f]{16})\n\s+kind: out\n\s+path: build\/made\.txt/.exec(lock)![1];
  const object = await Deno.stat(
    p.path(`.pivot/cache/files/${hash.slice(0, 2)}/${hash.slice(2)}`),
  );
  assert(info.ino !== object.ino, "the workspace file is not the cache object");
  assertEquals(object.mode! & 0o222, 0, "cache objects are read-only");
  const metric = await Deno.stat(p.path("build/m.json"));
  assert((metric.mode! & 0o200) !== 0, "metrics are not checked out from the cache");
});

test("checkout restores missing outs, by mode, and leaves modified ones unless --force", async () => {
  await using p = await project();
  assertEquals((await p.pivot("repro")).code, 0);
  await Deno.remove(p.path("build/made.txt"));
  const restored = await p.pivot("checkout", "--mode", "copy");
  assertEquals(restored.code, 0, restored.stderr);
  assertMatch(restored.stdout, /restored {2}build\/made\.txt/);
  assertEquals((await Deno.stat(p.path("build/made.txt"))).nlink, 1, "a copy, not a link");

  await Deno.remove(p.path("build/made.txt"));
  await p.pivot("checkout", "build/made.txt", "--mode", "symlink");
  assert((await Deno.lstat(p.path("build/made.txt"))).isSymlink);
  assertEquals(await p.read("build/made.txt"), "abab");

  await p.write("build/made.txt", "edited");
  const refused = await p.pivot("checkout", "make");
  assertEquals(refused.code, 1);
  assertMatch(refused.stderr, /build\/made\.txt: edited in the workspace.*use --force/);
  const onlyMissing = await p.pivot("checkout", "--only-missing");
  assertEquals(onlyMissing.code, 0);
  assertEquals(await p.read("build/made.txt"), "edited");
  const forced = await p.pivot("checkout", "--force");
  assertEquals(forced.code, 0, forced.stderr);
  assertEquals(await p.read("build/made.txt"), "abab");
});

const MANY_FILES = `import { loaders, out, Pipeline } from "jsr:@pivot/core";
export const pipeline = new Pipeline("many");
pipeline.stage({
  name: "many",
  outs: { tree: out("tree/", loaders.pathOnly()) },
  run: async (_deps, ctx) => {
    for (let i = 0; i < 40; i++) {
      const folder = \`\${ctx.outs.tree}/\${i % 3 === 0 ? "" : \`sub\${i % 3}/deep/\`}\`;
      await Deno.mkdir(folder, { recursive: true });
      await Deno.writeTextFile(\`\${folder}f\${i}.txt\`, \`file \${i}\`.repeat(i + 1));
    }
    return {};
  },
});
`;

test("checkout rebuilds a directory out of many files in nested folders, by each mode", async () => {
  await using p = await TempProject.create({ "pipeline.ts": MANY_FILES });
  assertEquals((await p.pivot("repro")).code, 0);
  const files = async () =>
    (await listTree(p.path("tree"))).filter((path) => path.endsWith(".txt"));
  const before = await files();
  assertEquals(before.length, 40);
  const contents = await Promise.all(before.map((file) => p.read(`tree/${file}`)));
  for (const mode of ["reflink", "copy", "hardlink", "symlink"]) {
    await Deno.remove(p.path("tree"), { recursive: true });
    const restored = await p.pivot("checkout", "--mode", mode);
    assertEquals(restored.code, 0, restored.stderr);
    assertEquals(await files(), before, mode);
    for (const [i, file] of before.entries()) {
      assertEquals(await p.read(`tree/${file}`), contents[i], `${mode}: ${file}`);
    }
    // Nothing left beside the out: no temporary folder, no temporary files.
    assertEquals(
      (await listTree(p.root)).filter((path) => /\.tmp(\/|$)/.test(path)),
      [],
      mode,
    );
  }
  const status = await p.pivot("status", "--json");
  assertEquals(status.code, 0, status.stderr);
});

test("a corrupt cache object is reported and never used", async () => {
  await using p = await project();
  assertEquals((await p.pivot("repro")).code, 0);
  const lock = await p.read(".pivot/stages/make.lock");
  const hash = /hash: ([0-9a-f]{16})\n\s+kind: out\n\s+path: build\/made\.txt/.exec(lock)![1];
  await Deno.remove(p.path("build/made.txt"));
  const object = p.path(`.pivot/cache/files/${hash.slice(0, 2)}/${hash.slice(2)}`);
  await Deno.chmod(object, 0o644);
  await Deno.writeTextFile(object, "rotten");
  const { result, events } = await p.events("repro");
  assertEquals(result.code, 0, result.stderr);
  assertMatch(result.stderr, new RegExp(`cache object ${hash} is corrupt`));
  assertEquals(events.find((e) => e.stage === "make")?.status, "ran");
  assertEquals(await p.read("build/made.txt"), "abab");
});

test("init --example writes a pipeline that runs", async () => {
  await using dir = await tempDir();
  const init = await runPivot(dir.root, ["init", "--example"]);
  assertEquals(init.code, 0, init.stderr);
  assertMatch(init.stdout, /Wrote pipeline\.ts, data\/scores\.csv, deno\.json/);
  const repro = await runPivot(dir.root, ["repro"]);
  assertEquals(repro.code, 0, repro.stderr);
  assertEquals(JSON.parse(await dir.read("build/summary.json")), { count: 3, best: [95, 91] });
});

test("a test project's init files (copied from one `pivot init` a test file) are what `pivot init` writes", async () => {
  // tests/_project.ts runs `init` once per test file and copies what it wrote: here a
  // project made so, and one where `init` runs, must hold the same files, byte for byte.
  const files = { "pipeline.ts": PIPELINE, "data/in.txt": "ab" };
  const configs: Record<string, string>[] = [{}, { yaml: "npm:yaml@2.9.1" }];
  for (const imports of configs) {
    await using copied = await TempProject.create(files, { imports });
    await using ran = await TempProject.create(files, { imports, init: false });
    const init = await ran.pivot("init");
    assertEquals(init.code, 0, init.stderr);
    const [names, ranNames] = [await listTree(copied.root), await listTree(ran.root)];
    assertEquals(names, ranNames);
    for (const name of names) {
      const [a, b] = [await Deno.stat(copied.path(name)), await Deno.stat(ran.path(name))];
      assertEquals([a.isFile, a.mode], [b.isFile, b.mode], name);
      if (a.isFile) assertEquals(await copied.read(name), await ran.read(name), name);
    }
    assert(names.includes(".pivot/config.yaml") && names.includes("deno.lock"), names.join(" "));
  }
});
