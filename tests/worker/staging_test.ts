/** The staging area on real files, with stages loaded from a real `pivot.yaml`. */

import { OutputError } from "../../lib/errors.ts";
import { FILES_KIND, type ReturnedFiles } from "../../lib/model/returned_files.ts";
import {
  checkReturnedOuts,
  checkStagedOuts,
  linkDeps,
  prepareOuts,
  stagedOutPath,
  StagingArea,
  workerFolders,
} from "../../lib/worker/staging.ts";
import { dirname } from "../../lib/posix_path.ts";
import { assert, assertEquals, assertThrows } from "../_assert.ts";
import { test } from "../_harness.ts";
import { listTree } from "../_project.ts";
import { engineProject } from "../engine/_engine.ts";

const FILES = {
  "pivot.yaml": `stages:
  grow:
    run: stages.ts#grow
    deps: { text: data/in.txt, images: data/images/ }
    outs: { log: logs/run.log, model: model.bin }
`,
  "stages.ts": "export function grow() {}\n",
  "data/in.txt": "hello",
  "data/images/a.png": "png",
};

test("linkDeps hard-links file deps and symlinks directories, at their project paths", async () => {
  await using project = await engineProject(FILES);
  const stage = project.stage("grow");
  // A dep outside the project (`../`) gets a place inside the staging area.
  const outside = { ...stage.deps[0], name: "shared", path: "../shared.txt" };
  const dirs = new StagingArea(workerFolders(project.dir.path("staging"), 0)).current;
  const deps = linkDeps({ ...stage, deps: [...stage.deps, outside] }, dirs.deps);
  assertEquals(deps.map((d) => [d.name, d.path.slice(dirs.deps.length + 1)]), [
    ["text", "data/in.txt"],
    ["images", "data/images"],
    ["shared", "__up__/shared.txt"],
  ]);
  const [text, images] = deps.map((d) => Deno.lstatSync(d.path));
  assertEquals(text.ino, Deno.statSync(project.dir.path("data/in.txt")).ino);
  assert(images.isSymlink, "a directory dep is a symlink");
  assertEquals(await Deno.readTextFile(`${deps[1].path}/a.png`), "png");
});

test("prepareOuts makes each out's directory and nothing else", async () => {
  await using project = await engineProject(FILES);
  const staging = new StagingArea(workerFolders(project.dir.path("staging"), 0));
  const dirs = staging.current;
  const outs = await prepareOuts(project.stage("grow"), dirs.outs, () => []);
  // An out below the top level one component shallower, its run's name
  // glued to its first component; a top-level file in the run's folder.
  assertEquals(outs.map((o) => [o.name, o.path.slice(staging.root.length + 1), o.selfWritten]), [
    ["log", "o1~logs/run.log", true],
    ["model", "o1/model.bin", true],
  ]);
  assertEquals(await listTree(staging.root), ["o1", "o1~logs", "t1"]);
  assertEquals(await listTree(dirs.outs), []);
});

test("stagedOutPath: every out's place is its run's own and none is ctx.tmpDir", () => {
  const staging = { outs: "/s.w0/o12", tmp: "/s.w0/t12" };
  const places = [
    { path: "gen", isDir: true },
    { path: "data/processed/x.csv", isDir: false },
    { path: "count.txt", isDir: false },
    { path: "t12", isDir: false },
    { path: "t12", isDir: true },
    { path: "o12", isDir: true },
  ].map((out) => stagedOutPath(staging.outs, out));
  assertEquals(places, [
    "/s.w0/o12~gen",
    "/s.w0/o12~data/processed/x.csv",
    "/s.w0/o12/count.txt",
    "/s.w0/o12/t12",
    "/s.w0/o12~t12",
    "/s.w0/o12~o12",
  ]);
  for (const place of places) {
    assert(place.startsWith("/s.w0/o12/") || place.startsWith("/s.w0/o12~"), place);
    assert(!place.startsWith(staging.tmp), `${place} is not in ctx.tmpDir`);
    // Run 1's and run 121's places never meet run 12's.
    assert(!place.startsWith("/s.w0/o1/") && !place.startsWith("/s.w0/o1~"), place);
    assert(!place.startsWith("/s.w0/o121"), place);
  }
});

test("prepareOuts seeds an incremental out with a writable copy of its last version", async () => {
  await using project = await engineProject(FILES);
  const stage = project.stage("grow");
  const incremental = {
    ...stage,
    outs: stage.outs.map((o) => o.name === "log" ? { ...o, kind: "incremental" as const } : o),
  };
  const last = project.dir.path("last.log");
  await Deno.writeTextFile(last, "line 1\n");
  await Deno.chmod(last, 0o444);
  const dirs = new StagingArea(workerFolders(project.dir.path("staging"), 0)).current;
  const missing = project.dir.path("missing.log");
  await prepareOuts(incremental, dirs.outs, (out) => out.name === "log" ? [missing, last] : []);
  const seeded = `${dirs.outs}~logs/run.log`;
  assertEquals(await Deno.readTextFile(seeded), "line 1\n");
  assertEquals(Deno.statSync(seeded).mode! & 0o777, 0o644);
});

test("checkStagedOuts accepts exactly the declared outs", async () => {
  await using project = await engineProject(FILES);
  const stage = project.stage("grow");
  const dirs = new StagingArea(workerFolders(project.dir.path("staging"), 0)).current;
  await prepareOuts(stage, dirs.outs, () => []);
  const check = () => checkStagedOuts(stage, dirs.outs);
  let error = assertThrows(check, OutputError);
  assertEquals(
    error.message,
    "stage 'grow' did not write out 'log' (logs/run.log): write it at ctx.outs.log",
  );
  await Deno.writeTextFile(`${dirs.outs}~logs/run.log`, "ok");
  await Deno.mkdir(`${dirs.outs}/model.bin`);
  error = assertThrows(check, OutputError);
  assertEquals(
    error.message,
    "out 'model' (model.bin) is declared as a file but the stage wrote a directory: declare it with a trailing '/'",
  );
  await Deno.remove(`${dirs.outs}/model.bin`);
  await Deno.writeTextFile(`${dirs.outs}/model.bin`, "weights");
  check();
  // Beside a top-level out, beside or in an out's folder: not declared.
  for (const stray of ["o1/stray.txt", "o1~logs/stray.txt", "o1~logs.txt", "o1/logs/run.log"]) {
    const path = `${dirname(dirs.outs)}/${stray}`;
    await Deno.mkdir(dirname(path), { recursive: true });
    await Deno.writeTextFile(path, "?");
    error = assertThrows(check, OutputError);
    assertEquals(
      error.message,
      `stage 'grow' wrote '${
        stray.slice(3)
      }', which is not a declared out: declare it in outs, or write scratch files to ctx.tmpDir`,
    );
    await Deno.remove(path);
  }
  // Scratch files, and what is not this run's, are not outs.
  await Deno.writeTextFile(`${dirs.tmp}/scratch`, "x");
  await Deno.mkdir(`${dirname(dirs.outs)}/o2~logs`);
  await Deno.writeTextFile(`${dirname(dirs.outs)}/o2~logs/late.txt`, "x");
  check();
});

test("each run gets directories of its own; a clean run's are renamed for the next", async () => {
  await using project = await engineProject(FILES);
  const stage = project.stage("grow");
  const staging = new StagingArea(workerFolders(project.dir.path("staging"), 0));
  const first = staging.current;
  // Each run's places directly in the worker's writable folder, the links
  // beside it: as few path components as the sandbox allows.
  assertEquals([staging.root, first.outs, first.tmp, first.deps], [
    project.dir.path("staging.w0"),
    project.dir.path("staging.w0/o1"),
    project.dir.path("staging.w0/t1"),
    project.dir.path("staging.d0"),
  ]);
  const links = linkDeps(stage, first.deps).map((d) => d.path);
  await prepareOuts(stage, first.outs, () => []);
  staging.next(links, true);
  const second = staging.current;
  assert(second.outs !== first.outs && second.tmp !== first.tmp, "new paths for the next run");
  assertEquals(second.deps, first.deps);
  assertEquals(await listTree(second.deps), ["data"]);
  // The empty out directories moved on to the next run's names.
  assertEquals(await listTree(staging.root), ["o2", "o2~logs", "t2"]);
  assertEquals([second.outs, second.tmp], [
    project.dir.path("staging.w0/o2"),
    project.dir.path("staging.w0/t2"),
  ]);
  assert(!(await exists(first.outs)), "nothing is left at the old run's paths");
  assert(!(await exists(`${first.outs}~logs`)), "nor at its outs' folders");
  assert(!(await exists(first.tmp)), "nor at its tmpDir");
  // The next run's outs are made again where they were kept.
  await prepareOuts(stage, second.outs, () => []);
  assertEquals(await listTree(staging.root), ["o2", "o2~logs", "t2"]);
});

test("a failed run's directories are removed and the next run starts empty", async () => {
  await using project = await engineProject(FILES);
  const stage = project.stage("grow");
  const staging = new StagingArea(workerFolders(project.dir.path("staging"), 0));
  const first = staging.current;
  const outs = await prepareOuts(stage, first.outs, () => []);
  for (const out of outs) await Deno.writeTextFile(out.path, "half");
  await Deno.writeTextFile(`${first.tmp}/scratch`, "x");
  // Written through `..` from an out's folder: not the run's, removed too.
  await Deno.writeTextFile(`${staging.root}/beside.txt`, "x");
  staging.next([], false);
  const second = staging.current;
  assert(!(await exists(first.outs)), "the failed run's directory is gone");
  assertEquals(await listTree(staging.root), ["t2"]);
  // The same stage's next run: its outs' places are new and empty.
  const again = await prepareOuts(stage, second.outs, () => []);
  for (const [i, out] of again.entries()) {
    assert(out.path !== outs[i].path, "a new place");
    assert(!(await exists(out.path)), `nothing of the failed run at ${out.path}`);
  }
  assertThrows(() => checkStagedOuts(stage, second.outs), OutputError);
  // What the failed run left running still writes to its own places:
  // nothing the next run's check or commit reads.
  await Deno.mkdir(dirname(outs[0].path), { recursive: true });
  await Deno.writeTextFile(outs[0].path, "late");
  for (const out of again) await Deno.writeTextFile(out.path, "ok");
  checkStagedOuts(stage, second.outs);
  assertEquals(await Deno.readTextFile(again[0].path), "ok");
});

test("a run that left scratch files does not pass its directories on", async () => {
  await using project = await engineProject(FILES);
  const staging = new StagingArea(workerFolders(project.dir.path("staging"), 0));
  await Deno.writeTextFile(`${staging.current.tmp}/scratch`, "x");
  staging.next([], true);
  assertEquals(await listTree(staging.current.tmp), []);
});

async function exists(path: string): Promise<boolean> {
  return await Deno.lstat(path).then(() => true, () => false);
}

test("checkReturnedOuts: the engine checks returned files itself, whatever the worker sent", async () => {
  await using project = await engineProject({
    "pivot.yaml": `stages:
  gen:
    run: stages.ts#gen
    outs: { pages: site/pages/, log: run.log }
`,
    "stages.ts": "export function gen() {}\n",
  });
  const declared = project.stage("gen");
  const files = { kind: FILES_KIND, options: { text: false } };
  const stage = {
    ...declared,
    outs: declared.outs.map((o) => o.isDir ? { ...o, loader: files } : o),
  };
  const dirs = new StagingArea(workerFolders(project.dir.path("staging"), 0)).current;
  await prepareOuts(stage, dirs.outs, () => []);
  const packed = (paths: string[]) => ({
    paths,
    data: new Uint8Array(paths.length),
    ends: Float64Array.from(paths, (_, i) => i + 1),
  });
  const check = (pages: ReturnedFiles | undefined) =>
    checkReturnedOuts(stage, dirs.outs, pages && { pages });
  check(packed(["a.txt", "sub/b.txt"]));
  const refused: [ReturnedFiles | undefined, RegExp][] = [
    [undefined, /^stage 'gen': out 'pages' \(site\/pages\/\) was not saved$/],
    [
      packed(["../../escape.txt"]),
      /out 'pages' \(site\/pages\/\): file '\.\.\/\.\.\/escape\.txt' leads out/,
    ],
    [packed(["/etc/x"]), /is an absolute path/],
    [packed(["b", "a"]), /files are not sorted/],
    [packed(["a", "a/b"]), /a path cannot be both/],
    [{ ...packed(["a", "b"]), ends: new Float64Array([1]) }, /the files returned have no content/],
    [
      { ...packed(["a", "b"]), ends: new Float64Array([2, 1]) },
      /the files returned have no content/,
    ],
    [{ ...packed(["a"]), ends: new Float64Array([5]) }, /the files returned have no content/],
    [
      { ...packed(["a"]), data: "x" as unknown as Uint8Array },
      /the files returned have no content/,
    ],
  ];
  for (const [pages, message] of refused) {
    const error = assertThrows(() => check(pages), OutputError);
    assert(message.test(error.message), `${error.message} ~ ${message}`);
  }
  // What the stage wrote itself where the files go (a link, say) is refused.
  const staged = stagedOutPath(dirs.outs, stage.outs.find((o) => o.isDir)!);
  await Deno.symlink("/etc", `${staged}/sub`);
  const error = assertThrows(() => check(packed(["sub/passwd"])), OutputError);
  assert(/also wrote into ctx\.outs\.pages/.test(error.message), error.message);
});
