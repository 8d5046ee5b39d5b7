/**
 * The user-global analysis cache end to end: a project whose modules this
 * user's Pivot already analysed elsewhere loads no TypeScript and gets the
 * same results; another analyser, a damaged entry, an unusable folder and
 * the off switches each fall back to parsing, and the run is as without the
 * cache. Each test has a cache folder of its own (`XDG_CACHE_HOME`).
 */

import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { NS } from "../../lib/storage/state.ts";
import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { output, test } from "../_harness.ts";
import { type PivotResult, REPO, runPivot, tempDir, TempProject } from "../_project.ts";

const FILES = {
  "pipeline.ts": [
    'import { loaders, out, Pipeline } from "jsr:@pivot/core";',
    'import { greet } from "./lib/greet.ts";',
    'export const pipeline = new Pipeline("user_cache");',
    "pipeline.stage({",
    '  name: "hello",',
    '  outs: { text: out("out/hello.txt", loaders.text()) },',
    '  run: () => ({ text: greet("world") }),',
    "});",
    "",
  ].join("\n"),
  "lib/greet.ts": "export const greet = (name: string) => `hello ${name}`;\n",
};

/** What one traced run did with the analyses. */
interface Traced {
  readonly result: PivotResult;
  /** TypeScript was loaded (a module was parsed). */
  readonly parsed: boolean;
  /** Analyses taken from the user cache. */
  readonly hits: number;
}

function traced(result: PivotResult): Traced {
  return {
    result,
    parsed: result.stderr.includes("fingerprint: TypeScript loaded"),
    hits: Number(/(\d+) analyses from the user cache/.exec(result.stderr)?.[1] ?? 0),
  };
}

/** `pivot ARGS` in `project`, traced, with the user cache folder under `cache`. */
async function pivot(
  project: TempProject,
  cache: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<Traced> {
  const result = await runPivot(project.root, args, {
    PIVOT_TRACE: "1",
    XDG_CACHE_HOME: cache,
    ...env,
  });
  assertEquals(result.code, 0, result.stderr);
  return traced(result);
}

/** Every file under `dir`, path → text, sorted by path. */
async function filesUnder(dir: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) {
      for (const [sub, text] of Object.entries(await filesUnder(path))) {
        files[`${entry.name}/${sub}`] = text;
      }
    } else files[entry.name] = await Deno.readTextFile(path);
  }
  return Object.fromEntries(Object.entries(files).sort(([a], [b]) => a < b ? -1 : 1));
}

/** The user cache's entry files under `cache`, by folder. */
function entries(cache: string): Record<string, string[]> {
  const root = join(cache, "pivot", "analyses");
  const found: Record<string, string[]> = {};
  try {
    for (const folder of Deno.readDirSync(root)) {
      found[folder.name] = [...Deno.readDirSync(join(root, folder.name))].map((e) => e.name).sort();
    }
  } catch {
    // no cache folder
  }
  return found;
}

test("a second project with the same modules loads no TypeScript; its lock files and status are the same", async () => {
  await using cache = await tempDir();
  await using first = await TempProject.create(FILES);
  const one = await pivot(first, cache.root, ["repro"]);
  assert(one.parsed && one.hits === 0, one.result.stderr);
  const kept = entries(cache.root);
  assertEquals(Object.values(kept).map((files) => files.length), [2, 2], JSON.stringify(kept));

  await using second = await TempProject.create(FILES);
  const two = await pivot(second, cache.root, ["repro"]);
  assert(!two.parsed, `TypeScript loaded:\n${two.result.stderr}`);
  assertEquals(two.hits, 2, two.result.stderr);
  assertEquals(await second.read("out/hello.txt"), "hello world");
  assertEquals(
    await filesUnder(second.path(".pivot", "stages")),
    await filesUnder(first.path(".pivot", "stages")),
  );
  const status = (p: TempProject) => runPivot(p.root, ["status", "--json"]);
  assertEquals((await status(second)).stdout, (await status(first)).stdout);

  // The hits were written into the project's state: its next cold fingerprint needs no user cache.
  const state = await second.state();
  const summaries = await state.list([NS.fingerprint, "summary"]);
  const scans = await state.list([NS.fingerprint, "registration"]);
  await second.closeState();
  assertEquals([summaries.length >= 2, scans.length >= 2], [true, true]);
});

test("a torn entry is a miss: the module is parsed again and the entry rewritten", async () => {
  await using cache = await tempDir();
  await using first = await TempProject.create(FILES);
  await pivot(first, cache.root, ["repro"]);
  const root = join(cache.root, "pivot", "analyses");
  const torn: string[] = [];
  for (const [folder, files] of Object.entries(entries(cache.root))) {
    for (const file of files) {
      const path = join(root, folder, file);
      const text = await Deno.readTextFile(path);
      await Deno.writeTextFile(path, text.slice(0, Math.floor(text.length / 2)));
      torn.push(path);
    }
  }
  await using second = await TempProject.create(FILES);
  const two = await pivot(second, cache.root, ["repro"]);
  assert(two.parsed && two.hits === 0, two.result.stderr);
  for (const path of torn) JSON.parse(await Deno.readTextFile(path)); // whole again
  await using third = await TempProject.create(FILES);
  const three = await pivot(third, cache.root, ["repro"]);
  assert(!three.parsed && three.hits === 2, three.result.stderr);
});

test("an edited analyser (a copy of Pivot whose analysis source differs) reads none of this one's entries", async () => {
  await using cache = await tempDir();
  await using first = await TempProject.create(FILES);
  await pivot(first, cache.root, ["repro"]);
  await using copy = await tempDir();
  for (const name of ["mod.ts", "cli.ts", "deno.json", "deno.lock", "lib", "packages"]) {
    await output("cp", { args: ["-R", join(REPO, name), copy.path(name)] });
  }
  // An edit that changes no result, without a version bump: still another analyser.
  const analyze = copy.path("lib", "fingerprint", "_analyze.ts");
  await Deno.writeTextFile(analyze, (await Deno.readTextFile(analyze)) + "\n// edited\n");
  await using second = await TempProject.create(FILES, { init: false });
  await second.writeConfig({ "jsr:@pivot/core": pathToFileURL(copy.path("mod.ts")).href });
  const run = (args: string[]) =>
    output(Deno.execPath(), {
      args: ["run", "-A", copy.path("cli.ts"), ...args],
      cwd: second.root,
      env: { NO_COLOR: "1", PIVOT_TRACE: "1", XDG_CACHE_HOME: cache.root },
    });
  assertEquals((await run(["init"])).code, 0);
  const repro = await run(["repro"]);
  const stderr = new TextDecoder().decode(repro.stderr);
  assertEquals(repro.code, 0, stderr);
  const two = traced({ code: repro.code, stdout: "", stderr });
  assert(two.parsed && two.hits === 0, stderr);
  const folders = Object.keys(entries(cache.root));
  assertEquals(folders.filter((f) => f.startsWith("summary-")).length, 2, folders.join(" "));
});

test("an unusable cache folder turns the cache off and the run is as without it", async (t) => {
  await using reference = await TempProject.create(FILES);
  await using none = await tempDir();
  await pivot(reference, none.root, ["repro"], { PIVOT_USER_CACHE: "off" });
  const expected = await filesUnder(reference.path(".pivot", "stages"));
  const check = async (cache: string, trace: RegExp) => {
    await using project = await TempProject.create(FILES);
    const run = await pivot(project, cache, ["repro"]);
    assert(run.parsed && run.hits === 0, run.result.stderr);
    assertMatch(run.result.stderr, trace);
    assertEquals(await project.read("out/hello.txt"), "hello world");
    assertEquals(await filesUnder(project.path(".pivot", "stages")), expected);
  };

  await t.step("the analyses folder is a file", async () => {
    await using cache = await tempDir();
    await cache.write("pivot/analyses", "not a folder");
    await check(cache.root, /fingerprint: user cache off: /);
  });

  await t.step("an entry folder cannot be made", async () => {
    await using cache = await tempDir();
    await using first = await TempProject.create(FILES);
    await pivot(first, cache.root, ["repro"]);
    for (const folder of Object.keys(entries(cache.root))) {
      const path = cache.path("pivot", "analyses", folder);
      await Deno.remove(path, { recursive: true });
      await Deno.writeTextFile(path, "not a folder");
    }
    await check(cache.root, /fingerprint: user cache not written: /);
  });

  // As root, permissions do not stop a write: another owner is what root can make.
  if (Deno.uid() === 0) {
    await t.step("the folder belongs to another user", async () => {
      await using cache = await tempDir();
      await Deno.mkdir(cache.path("pivot", "analyses"), { recursive: true });
      await Deno.chown(cache.path("pivot", "analyses"), 65534, 65534);
      await check(cache.root, /belongs to another user/);
      assertEquals(entries(cache.root), {});
    });
  } else {
    await t.step("a read-only folder", async () => {
      await using cache = await tempDir();
      await Deno.mkdir(cache.path("pivot", "analyses"), { recursive: true });
      await Deno.chmod(cache.path("pivot", "analyses"), 0o500);
      await check(cache.root, /fingerprint: user cache not written: /);
    });
  }
});

test("PIVOT_USER_CACHE=off and core.user_cache: false leave the user cache alone", async () => {
  await using cache = await tempDir();
  await using first = await TempProject.create(FILES);
  await pivot(first, cache.root, ["repro"]);
  const before = entries(cache.root);

  await using off = await TempProject.create(FILES);
  const byEnv = await pivot(off, cache.root, ["repro"], { PIVOT_USER_CACHE: "off" });
  assert(byEnv.parsed && byEnv.hits === 0, byEnv.result.stderr);
  assertMatch(byEnv.result.stderr, /user cache off \(PIVOT_USER_CACHE=off\)/);

  await using configured = await TempProject.create(FILES);
  await configured.write(".pivot/config.yaml", "core:\n  user_cache: false\n");
  const byConfig = await pivot(configured, cache.root, ["repro"]);
  assert(byConfig.parsed && byConfig.hits === 0, byConfig.result.stderr);

  // Nothing was written by either: an edited module leaves no new entry.
  await off.edit("lib/greet.ts", "hello", "hi");
  await pivot(off, cache.root, ["repro"], { PIVOT_USER_CACHE: "off" });
  assertEquals(entries(cache.root), before);
});
