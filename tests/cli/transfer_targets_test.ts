/** TARGETS of push/fetch/pull: stage names and patterns, paths, folders, paths inside a directory. */

import { assertEquals, assertThrows } from "../_assert.ts";
import { test } from "../_harness.ts";
import { tempDir } from "../_project.ts";
import {
  isManifestObject,
  type ProjectRecords,
  selectRecords,
} from "../../lib/cli/transfer_targets.ts";
import { Cache } from "../../lib/storage/cache.ts";
import { PivotError } from "../../lib/errors.ts";

const prep = { name: "prep", key: ".pivot/stages/prep.lock" };
const small = { name: "train@small", key: ".pivot/stages/train@small.lock" };
const large = { name: "train@large", key: ".pivot/stages/train@large.lock" };
const h = (n: number) => n.toString(16).padStart(16, "0");
const RECORDS: ProjectRecords = {
  stages: [prep, small, large],
  data: [
    { path: "data/clean", hash: h(1), isDir: true, stage: prep },
    { path: "models/small.json", hash: h(2), isDir: false, stage: small },
    { path: "models/large.json", hash: h(3), isDir: false, stage: large },
    { path: "raw/images", hash: h(4), isDir: true, stage: undefined },
  ],
};
const paths = (targets: string[]) =>
  selectRecords(RECORDS, targets, (p) => p).data.map((item) => item.path).sort();

test("no targets select everything", () => {
  const all = selectRecords(RECORDS, [], (p) => p);
  assertEquals([all.data.length, all.stages.length, all.everything], [4, 3, true]);
});

test("stage names, base names and patterns select their outs", () => {
  assertEquals(paths(["prep"]), ["data/clean"]);
  assertEquals(paths(["train"]), ["models/large.json", "models/small.json"]);
  assertEquals(paths(["train@s*"]), ["models/small.json"]);
  const byName = selectRecords(RECORDS, ["train@large"], (p) => p);
  assertEquals([byName.stages, byName.everything], [[large], false]);
});

test("paths select outs and tracked data, folders what they hold, inner paths their directory", () => {
  assertEquals(paths(["models/small.json"]), ["models/small.json"]);
  assertEquals(paths(["models/"]), ["models/large.json", "models/small.json"]);
  assertEquals(paths(["raw/images"]), ["raw/images"]);
  assertEquals(paths(["raw/images/cat.png"]), ["raw/images"]);
  const owner = selectRecords(RECORDS, ["models/small.json"], (p) => p);
  assertEquals(owner.stages, [small], "the owning stage, for --run-cache");
  assertEquals(selectRecords(RECORDS, ["raw"], (p) => p).stages, []);
});

test("a target that selects nothing is one line naming it", () => {
  assertThrows(
    () => selectRecords(RECORDS, ["nothing"], (p) => p),
    PivotError,
    /'nothing' is neither a stage with a lock file, an out nor tracked data/,
  );
});

test("a manifest object is told from a data file by its first bytes", async () => {
  await using dir = await tempDir();
  const cache = new Cache(dir.path("cache"));
  const manifest = await cache.storeManifest({ files: [{ path: "a", hash: h(9) }] });
  await Deno.writeTextFile(dir.path("data.json"), '{"files": "not a manifest"}');
  await cache.storeFile(dir.path("data.json"), h(10), false);
  assertEquals(isManifestObject(cache, manifest), true);
  assertEquals(isManifestObject(cache, h(10)), false);
  assertEquals(isManifestObject(cache, h(11)), false, "absent");
});
