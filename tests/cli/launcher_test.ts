/**
 * The launcher's own logic, including what a `deno compile` binary does
 * (which cannot be built here: `deno compile` downloads its runtime): find
 * `deno`, extract the embedded sources, re-execute them on a real project.
 */

import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import {
  ALLOCATOR_ENV,
  allocatorEnv,
  ARENA_ENV,
  BIG_PIPELINE_BYTES,
  dropAllocatorEnv,
  extractSourcesTo,
  findDeno,
  NO_DENO_MESSAGE,
  v8Flags,
} from "../../lib/cli/launcher.ts";
import { launchInfo } from "../../lib/cli/launch_info.ts";
import { checkoutImportMap, importMapFile } from "../../lib/cli/checkout_import_map.ts";
import { VERSION } from "../../lib/version.ts";
import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { output, test } from "../_harness.ts";
import { denoJson, REPO, runPivot, tempDir, TempProject } from "../_project.ts";

test("extractSourcesTo copies the sources once and marks the copy complete", async () => {
  await using dir = await tempDir();
  const source = dir.path("embedded");
  await Deno.mkdir(join(source, "lib/cli"), { recursive: true });
  await Deno.writeTextFile(join(source, "cli.ts"), "// cli");
  await Deno.writeTextFile(join(source, "deno.json"), "{}");
  await Deno.writeTextFile(join(source, "lib/cli/main.ts"), "// main");
  await Deno.writeTextFile(join(source, "notes.md"), "not source");
  const target = dir.path("cache/pivot/0.1.0");
  const cli = await extractSourcesTo(source, target);
  assertEquals(cli, join(target, "cli.ts"));
  assertEquals(await Deno.readTextFile(join(target, "lib/cli/main.ts")), "// main");
  assert(await Deno.stat(join(target, ".complete")));
  await Deno.stat(join(target, "notes.md")).then(
    () => assert(false, "only .ts, .json and .lock files are copied"),
    () => {},
  );
  // A second call finds the complete copy and leaves it alone.
  await Deno.writeTextFile(join(source, "cli.ts"), "// changed");
  await extractSourcesTo(source, target);
  assertEquals(await Deno.readTextFile(join(target, "cli.ts")), "// cli");
});

test("extractSourcesTo drops the workspace members, which are not embedded", async () => {
  await using dir = await tempDir();
  const source = dir.path("embedded");
  await Deno.mkdir(source);
  await Deno.writeTextFile(
    join(source, "deno.json"),
    JSON.stringify({ name: "@pivot/core", workspace: ["./packages/cli"], imports: { a: "npm:a" } }),
  );
  await extractSourcesTo(source, dir.path("copy"));
  assertEquals(JSON.parse(await Deno.readTextFile(dir.path("copy/deno.json"))), {
    name: "@pivot/core",
    imports: { a: "npm:a" },
  });
});

test("findDeno prefers PIVOT_DENO, then the first executable deno on PATH", async () => {
  await using dir = await tempDir();
  const saved = { deno: Deno.env.get("PIVOT_DENO"), path: Deno.env.get("PATH") };
  try {
    await Deno.mkdir(dir.path("a"));
    await Deno.mkdir(dir.path("b"));
    await Deno.writeTextFile(dir.path("a/deno"), "", { mode: 0o644 }); // not executable
    await Deno.writeTextFile(dir.path("b/deno"), "", { mode: 0o755 });
    Deno.env.set("PIVOT_DENO", dir.path("b/deno"));
    assertEquals(findDeno(), dir.path("b/deno"));
    Deno.env.set("PIVOT_DENO", "/opt/missing/deno");
    assertMatch(errorOf(findDeno), /^PIVOT_DENO is '\/opt\/missing\/deno', which is not/);
    Deno.env.delete("PIVOT_DENO");
    Deno.env.set("PATH", `/nonexistent:${dir.path("a")}:${dir.path("b")}`);
    assertEquals(findDeno(), dir.path("b/deno"));
    Deno.env.set("PATH", `/nonexistent:${dir.path("a")}`);
    assertEquals(errorOf(findDeno), NO_DENO_MESSAGE);
    assert(!NO_DENO_MESSAGE.includes("\n"), "one line");
    assertMatch(NO_DENO_MESSAGE, /install Deno .*or set PIVOT_DENO/);
  } finally {
    if (saved.deno === undefined) Deno.env.delete("PIVOT_DENO");
    else Deno.env.set("PIVOT_DENO", saved.deno);
    Deno.env.set("PATH", saved.path ?? "");
  }
});

test("launchInfo tells a checkout, a JSR package, a binary and another URL apart", () => {
  const saved = Deno.env.get("JSR_URL");
  try {
    assertEquals(launchInfo("file:///home/me/pivot/cli.ts", false), {
      kind: "checkout",
      detail: "/home/me/pivot",
    });
    Deno.env.set("JSR_URL", "http://127.0.0.1:4507");
    assertEquals(launchInfo("http://127.0.0.1:4507/@pivot/core/0.3.0/cli.ts", false), {
      kind: "jsr",
      detail: "jsr:@pivot/core@0.3.0",
    });
    assertEquals(launchInfo("https://example.com/pivot/cli.ts", false).kind, "remote");
    assertEquals(launchInfo("file:///tmp/deno-compile-pivot/cli.ts", true), {
      kind: "binary",
      detail: Deno.execPath(),
    });
  } finally {
    if (saved === undefined) Deno.env.delete("JSR_URL");
    else Deno.env.set("JSR_URL", saved);
  }
});

/**
 * A stand-in for a compiled binary: the launcher in compiled mode, whose
 * "embedded" sources are a copy of this checkout's (what `--include` puts in
 * a binary), run by a plain `deno` with the unstable APIs on, as a binary is.
 */
async function fakeBinary(dir: string): Promise<string> {
  const embedded = join(dir, "embedded");
  for (const path of ["cli.ts", "mod.ts", "deno.json", "deno.lock", "lib"]) {
    await copy(join(REPO, path), join(embedded, path));
  }
  const entry = join(dir, "pivot_binary.ts");
  await Deno.writeTextFile(
    entry,
    `import { launch } from ${
      JSON.stringify(pathToFileURL(join(REPO, "lib/cli/launcher.ts")).href)
    };
Deno.exit(await launch(Deno.args, ${
      JSON.stringify(pathToFileURL(join(embedded, "cli.ts")).href)
    }, { compiled: true }));
`,
  );
  return entry;
}

test(
  "a binary re-executes its extracted sources with the deno it finds",
  { timeLimit: 300_000 },
  async () => {
    await using dir = await tempDir();
    const entry = await fakeBinary(dir.root);
    const project = dir.path("project");
    await Deno.mkdir(project);
    const binary = (env: Record<string, string>, ...args: string[]) =>
      run(Deno.execPath(), ["run", "-A", ...UNSTABLE, entry, ...args], project, {
        XDG_CACHE_HOME: dir.path("cache"),
        NO_COLOR: "1",
        ...env,
      });
    const withDeno = { PIVOT_DENO: Deno.execPath() };

    // Without deno: one line saying how to get it, exit 2; --version needs none.
    const noDeno = { PATH: "/nonexistent", PIVOT_DENO: "" };
    const missing = await binary(noDeno, "repro");
    assertEquals([missing.code, missing.stderr.trim()], [2, `error: ${NO_DENO_MESSAGE}`]);
    assertEquals((await binary(noDeno, "--version")).stdout.trim(), `pivot ${VERSION}`);

    const init = await binary(withDeno, "init", "--example");
    assertEquals(init.code, 0, init.stderr);
    const extracted = dir.path("cache", "pivot", VERSION);
    assert(await Deno.stat(join(extracted, ".complete")), "sources extracted");
    // The starter project maps the API to the extracted copy, not the binary's.
    const imports = JSON.parse(await Deno.readTextFile(join(project, "deno.json"))).imports;
    assertEquals(imports["jsr:@pivot/core"], pathToFileURL(join(extracted, "mod.ts")).href);

    const first = await binary(withDeno, "repro", "--json");
    assertEquals(first.code, 0, first.stderr);
    assertMatch(first.stdout, /"type":"summary","ran":2/);
    const second = await binary(withDeno, "repro", "--json");
    assertMatch(second.stdout, /"type":"summary","ran":0/);
    const doctor = await binary(withDeno, "doctor", "--json");
    assertEquals(doctor.code, 0, doctor.stderr);
    assertEquals(JSON.parse(doctor.stdout).launch.kind, "binary");
  },
);

test("the versions in deno.json, packages/cli and lib/version.ts agree", async () => {
  const root = JSON.parse(await Deno.readTextFile(join(REPO, "deno.json")));
  const cli = JSON.parse(await Deno.readTextFile(join(REPO, "packages/cli/deno.json")));
  assertEquals([root.version, cli.version], [VERSION, VERSION]);
});

const UNSTABLE = ["--unstable-kv", "--unstable-worker-options"];

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error("expected an error");
}

async function copy(from: string, to: string): Promise<void> {
  const info = await Deno.stat(from);
  if (info.isDirectory) {
    await Deno.mkdir(to, { recursive: true });
    for await (const entry of Deno.readDir(from)) {
      await copy(join(from, entry.name), join(to, entry.name));
    }
  } else {
    await Deno.mkdir(dirname(to), { recursive: true });
    await Deno.copyFile(from, to);
  }
}

async function run(
  command: string,
  args: string[],
  cwd: string,
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const result = await output(command, { args, cwd, env, stdin: "null" });
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: result.code, stdout: decode(result.stdout), stderr: decode(result.stderr) };
}

test("a project whose deno.json maps nothing into this checkout still runs from it", async () => {
  // A pivot.yaml project with a deno.json of tasks only: Deno resolves
  // Pivot's own bare imports (yaml, ...) only through the launcher's map.
  await using project = await TempProject.create({
    "deno.json": JSON.stringify({ tasks: { hi: "echo hi" }, imports: { "lib/": "./lib/" } }),
    "pivot.yaml": "stages:\n  hello:\n    cmd: echo hi > out.txt\n    outs: [out.txt]\n",
  }, { imports: null });
  const first = await project.pivot("repro");
  assertEquals(first.code, 0, first.stderr);
  assertEquals(await project.read("out.txt"), "hi\n");
  const again = await project.pivot("status");
  assertEquals(again.code, 0, again.stderr);
  assertMatch(again.stdout, /up to date/i);
});

test("a project whose deno.json maps jsr:@pivot/core to another copy of Pivot runs from this one", async () => {
  // Deno 2.9 panicked (import_map ext.rs unwrap) on this project's map when
  // the launcher passed it as a data: URL; a file works.
  await using other = await tempDir();
  await Deno.symlink(REPO, other.path("pivot"));
  await using project = await TempProject.create({
    "pipeline.ts": [
      'import { loaders, out, Pipeline } from "jsr:@pivot/core";',
      'export const pipeline = new Pipeline("other_copy");',
      "pipeline.stage({",
      '  name: "hello",',
      '  outs: { text: out("hello.txt", loaders.text()) },',
      '  run: () => ({ text: "hi" }),',
      "});",
      "",
    ].join("\n"),
  }, { imports: { "jsr:@pivot/core": pathToFileURL(other.path("pivot/mod.ts")).href } });
  await using cache = await tempDir();
  const env = { XDG_CACHE_HOME: cache.path() };
  const first = await runPivot(project.path(), ["repro"], env);
  assertEquals(first.code, 0, first.stderr);
  assertEquals(await project.read("hello.txt"), "hi");
  const again = await runPivot(project.path(), ["status"], env);
  assertEquals(again.code, 0, again.stderr);
  assertMatch(again.stdout, /up to date/i);
  const maps = [...Deno.readDirSync(cache.path("pivot/import-maps"))].map((entry) => entry.name);
  assertEquals(maps.length, 1, `one map file, reused: ${maps}`);
});

test("importMapFile writes the map once, under the user's cache folder, and rewrites a changed one", async () => {
  await using cache = await tempDir();
  const before = Deno.env.get("XDG_CACHE_HOME");
  Deno.env.set("XDG_CACHE_HOME", cache.path());
  try {
    const json = JSON.stringify({ imports: { a: "file:///a.ts" } });
    const path = importMapFile(json);
    assert(path.startsWith(cache.path("pivot/import-maps/")), path);
    assertEquals(await Deno.readTextFile(path), json);
    const { mtime } = await Deno.stat(path);
    assertEquals(importMapFile(json), path);
    assertEquals((await Deno.stat(path)).mtime, mtime, "not rewritten when equal");
    await Deno.writeTextFile(path, "{}"); // damaged by someone
    assertEquals(importMapFile(json), path);
    assertEquals(await Deno.readTextFile(path), json);
    const other = importMapFile(JSON.stringify({ imports: {} }));
    assert(other !== path, "another map, another file");
  } finally {
    if (before === undefined) Deno.env.delete("XDG_CACHE_HOME");
    else Deno.env.set("XDG_CACHE_HOME", before);
  }
});

test("checkoutImportMap adds this checkout's imports beside the user's, made absolute", async () => {
  await using dir = await tempDir();
  await dir.write(
    "deno.json",
    JSON.stringify({
      imports: { "lib/": "./lib/", zod: "npm:zod@4" },
      scopes: { "./v/": { a: "./b.ts" } },
    }),
  );
  const entry = pathToFileURL(join(REPO, "cli.ts")).href;
  const value = checkoutImportMap(dir.path("deno.json"), entry);
  assert(value !== undefined, "a map");
  const map = JSON.parse(value);
  const root = pathToFileURL(REPO).href + "/";
  assertEquals(map.imports, {
    "lib/": pathToFileURL(dir.path("lib")).href + "/",
    zod: "npm:zod@4",
  });
  assertEquals(map.scopes[pathToFileURL(dir.path("v")).href + "/"], {
    a: pathToFileURL(dir.path("b.ts")).href,
  });
  assertEquals(
    map.scopes[root].yaml,
    JSON.parse(await Deno.readTextFile(join(REPO, "deno.json"))).imports.yaml,
  );
  assertEquals(map.scopes[root]["jsr:@pivot/core"], pathToFileURL(join(REPO, "mod.ts")).href);
  // A config that already maps into the checkout needs no map of the launcher's.
  await dir.write("deno.json", denoJson({}));
  assertEquals(checkoutImportMap(dir.path("deno.json"), entry), undefined);
  // Nor does Pivot run from a URL that is not a file.
  assertEquals(
    checkoutImportMap(dir.path("deno.json"), "https://jsr.io/@pivot/core/0.1.0/cli.ts"),
    undefined,
  );
});

test("the child records source positions eagerly, with a small young generation, only for a big pipeline.ts at or above cwd", async () => {
  await using dir = await tempDir();
  const eager = ["--v8-flags=--no-enable-lazy-source-positions,--max-semi-space-size=4"];
  await Deno.mkdir(dir.path("sub/deeper"), { recursive: true });
  assertEquals(v8Flags(dir.path("sub/deeper")), []); // no pipeline.ts (up to /)
  await Deno.writeTextFile(dir.path("pipeline.ts"), "x".repeat(BIG_PIPELINE_BYTES));
  assertEquals(v8Flags(dir.path("sub/deeper")), eager);
  assertEquals(v8Flags(dir.path()), eager);
  // The nearest one decides: a small pipeline.ts below the big one.
  await Deno.writeTextFile(dir.path("sub/pipeline.ts"), "export {};\n");
  assertEquals(v8Flags(dir.path("sub/deeper")), []);
  await Deno.writeTextFile(dir.path("pipeline.ts"), "x".repeat(BIG_PIPELINE_BYTES - 1));
  assertEquals(v8Flags(dir.path()), []);
});

test("a big pipeline's child gets two malloc arenas unless the user chose, and removes what the launcher set", () => {
  const before = Deno.env.get(ARENA_ENV);
  try {
    Deno.env.delete(ARENA_ENV);
    const env = allocatorEnv();
    assertEquals(
      env,
      Deno.build.os === "linux" ? { [ARENA_ENV]: "2", [ALLOCATOR_ENV]: ARENA_ENV } : {},
    );
    // As the child starts: given by the launcher, then removed for the stages.
    for (const [name, value] of Object.entries(env)) Deno.env.set(name, value);
    dropAllocatorEnv();
    assertEquals([Deno.env.get(ARENA_ENV), Deno.env.get(ALLOCATOR_ENV)], [undefined, undefined]);
    // The user's own setting is neither replaced nor removed.
    Deno.env.set(ARENA_ENV, "4");
    assertEquals(allocatorEnv(), {});
    dropAllocatorEnv();
    assertEquals(Deno.env.get(ARENA_ENV), "4");
  } finally {
    if (before === undefined) Deno.env.delete(ARENA_ENV);
    else Deno.env.set(ARENA_ENV, before);
  }
});
