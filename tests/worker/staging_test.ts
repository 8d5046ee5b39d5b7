/** The staging area on real files, with stages loaded from a real `pivot.yaml`. */

import { OutputError } from "../../lib/errors.ts";
import {
  checkStagedOuts,
  linkDeps,
  prepareOuts,
  StagingArea,
  workerFolders,
} from "../../lib/worker/staging.ts";
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
  const dirs = new StagingArea(workerFolders(project.dir.path("staging"), 0)).current;
  const outs = await prepareOuts(project.stage("grow"), dirs.outs, () => []);
  assertEquals(outs.map((o) => [o.name, o.path.slice(dirs.outs.length + 1), o.selfWritten]), [
    ["log", "logs/run.log", true],
    ["model", "model.bin", true],
  ]);
  assertEquals(await listTree(dirs.outs), ["logs"]);
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
  const seeded = `${dirs.outs}/logs/run.log`;
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
  await Deno.writeTextFile(`${dirs.outs}/logs/run.log`, "ok");
  await Deno.mkdir(`${dirs.outs}/model.bin`);
  error = assertThrows(check, OutputError);
  assertEquals(
    error.message,
    "out 'model' (model.bin) is declared as a file but the stage wrote a directory: declare it with a trailing '/'",
  );
  await Deno.remove(`${dirs.outs}/model.bin`);
  await Deno.writeTextFile(`${dirs.outs}/model.bin`, "weights");
  check();
  await Deno.writeTextFile(`${dirs.outs}/stray.txt`, "?");
  error = assertThrows(check, OutputError);
  assertEquals(
    error.message,
    "stage 'grow' wrote 'stray.txt', which is not a declared out: declare it in outs, or write scratch files to ctx.tmpDir",
  );
});

test("each run gets directories of its own; a clean run's are renamed for the next", async () => {
  await using project = await engineProject(FILES);
  const stage = project.stage("grow");
  const staging = new StagingArea(workerFolders(project.dir.path("staging"), 0));
  const first = staging.current;
  // Each run's directories directly in the worker's writable folder, the
  // links beside it: as few path components as the sandbox allows.
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
  // The empty out directories moved with the run directory.
  assertEquals(await listTree(second.outs), ["logs"]);
  assertEquals([second.outs, second.tmp], [
    project.dir.path("staging.w0/o2"),
    project.dir.path("staging.w0/t2"),
  ]);
  assert(!(await exists(first.outs)), "nothing is left at the old run's paths");
  assert(!(await exists(first.tmp)), "nor at its tmpDir");
});

test("a failed run's directories are removed and the next run starts empty", async () => {
  await using project = await engineProject(FILES);
  const stage = project.stage("grow");
  const staging = new StagingArea(workerFolders(project.dir.path("staging"), 0));
  const first = staging.current;
  await prepareOuts(stage, first.outs, () => []);
  await Deno.writeTextFile(`${first.outs}/logs/run.log`, "half");
  await Deno.writeTextFile(`${first.tmp}/scratch`, "x");
  staging.next([], false);
  const second = staging.current;
  assert(!(await exists(first.outs)), "the failed run's directory is gone");
  assertEquals(await listTree(second.outs), []);
  assertEquals(await listTree(second.tmp), []);
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
