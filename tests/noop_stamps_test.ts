/**
 * The no-op gate's snapshot (lib/noop_stamps.ts) on real files: it holds
 * while every path keeps its stamp, names the first one that changed, and
 * keeps the stamps it took for the attempt's check, once. The launcher's use
 * of it is tested end to end in tests/e2e/launcher_attempt_test.ts.
 */

import { listFiles, type Listing, walkDigest } from "../lib/dir_walk.ts";
import {
  gateBarsRecord,
  holdTouched,
  MAX_GATE_FILES,
  NOOP_HASHES_FILE,
  NOOP_STAMPS_FILE,
  NoopStamps,
  noopStampsDiffer,
  takeGateStamps,
  TOUCHED,
  touchedFiles,
} from "../lib/noop_stamps.ts";
import { assert, assertEquals } from "./_assert.ts";
import { test } from "./_harness.ts";
import { tempDir } from "./_project.ts";

/** A snapshot of `paths` with the stamps they have now. */
function snapshotOf(paths: string[]): NoopStamps {
  const stamps = new NoopStamps();
  for (const path of paths) {
    const info = Deno.statSync(path);
    stamps.add(path, info.mtime!.getTime(), info.size, info.ino!);
  }
  // The stages' layout: here the paths backwards.
  for (const path of paths.toReversed()) stamps.lay(path);
  return stamps;
}

test("the gate holds while every path keeps its stamp, and stops at the first that changed", async () => {
  await using dir = await tempDir();
  const paths = ["a", "b", "c"].map((name) => `${dir.root}/${name}`);
  for (const path of paths) Deno.writeTextFileSync(path, path);
  snapshotOf(paths).write(dir.root);
  assertEquals(await noopStampsDiffer(dir.root), undefined);
  assertEquals(gateBarsRecord(), undefined, "a no-op's record may answer");
  const taken = takeGateStamps();
  assertEquals(gateBarsRecord(), "no gate");
  assertEquals(taken?.paths, paths);
  assertEquals(taken?.layout, [2, 1, 0]);
  const mtime = (path: string) => Deno.statSync(path).mtime!.getTime();
  assertEquals(taken?.stamps[3], mtime(paths[1]), "the stamps the stats gave");
  const before = mtime(paths[1]);
  assertEquals(takeGateStamps(), undefined, "taken once");
  const then = new Date(Date.now() - 10_000);
  Deno.utimeSync(paths[1], then, then);
  Deno.removeSync(paths[2]);
  assertEquals(await noopStampsDiffer(dir.root), `${paths[1]} changed`);
  assertEquals(takeGateStamps(), undefined, "nothing kept when it does not hold");
  Deno.utimeSync(paths[1], before / 1000, before / 1000);
  assertEquals(await noopStampsDiffer(dir.root), `${paths[2]} is gone`);
});

test("a snapshot that is incomplete, torn or absent never holds", async () => {
  await using dir = await tempDir();
  const path = `${dir.root}/a`;
  Deno.writeTextFileSync(path, "a");
  assertEquals(await noopStampsDiffer(dir.root), "no snapshot");
  const partial = snapshotOf([path]);
  partial.incomplete();
  partial.write(dir.root);
  assertEquals(await noopStampsDiffer(dir.root), "a stage is not in the verified index");
  // Two entries recording one path with different stamps: incomplete too.
  const disagreeing = snapshotOf([path]);
  disagreeing.add(path, 1, 1, 1);
  disagreeing.write(dir.root);
  assertEquals(await noopStampsDiffer(dir.root), "a stage is not in the verified index");
  Deno.writeTextFileSync(`${dir.root}/${NOOP_STAMPS_FILE}`, '{"version":1,"comp');
  assertEquals(await noopStampsDiffer(dir.root), "unreadable snapshot");
  // Removed, for the next save of the verified index to write it again.
  assert(!(await Deno.stat(`${dir.root}/${NOOP_STAMPS_FILE}`).then(() => true, () => false)));
});

test("a directory is held by its walk's digest: a file changed, added or removed anywhere in it is seen", async () => {
  await using dir = await tempDir();
  const data = `${dir.root}/data`;
  const file = `${dir.root}/a`;
  Deno.mkdirSync(`${data}/x/y`, { recursive: true });
  Deno.writeTextFileSync(`${data}/x/y/f.txt`, "f1");
  Deno.writeTextFileSync(`${data}/g.txt`, "g");
  Deno.writeTextFileSync(file, "a");
  const snapshot = async () => {
    const stamps = snapshotOf([file]);
    const walked = await walkDigest(data);
    stamps.addDir(data, walked!.digest, walked!.files);
    stamps.lay(data);
    stamps.write(dir.root);
    return walked!;
  };
  const walked = await snapshot();
  assertEquals(walked.files, 2);
  assertEquals(await noopStampsDiffer(dir.root), undefined);
  const taken = takeGateStamps();
  assertEquals([...taken!.dirs], [[1, walked.digest]], "the digest the walk found");
  // Same size, another mtime.
  const then = new Date(Date.now() - 10_000);
  Deno.utimeSync(`${data}/x/y/f.txt`, then, then);
  assertEquals(await noopStampsDiffer(dir.root), `${data} changed`);
  assertEquals(takeGateStamps(), undefined);
  await snapshot();
  Deno.writeTextFileSync(`${data}/x/y/new.txt`, "n");
  assertEquals(await noopStampsDiffer(dir.root), `${data} changed`);
  await snapshot();
  Deno.removeSync(`${data}/g.txt`);
  assertEquals(await noopStampsDiffer(dir.root), `${data} changed`);
  // Gone, or a file now: changed.
  await snapshot();
  Deno.removeSync(data, { recursive: true });
  assertEquals(await noopStampsDiffer(dir.root), `${data} changed`);
  Deno.writeTextFileSync(data, "now a file");
  assertEquals(await noopStampsDiffer(dir.root), `${data} changed`);
});

test("a snapshot whose directories hold too many files, or two digests of one, is incomplete", async () => {
  await using dir = await tempDir();
  const big = new NoopStamps();
  big.addDir(`${dir.root}/a`, "d1", MAX_GATE_FILES - 10);
  big.addDir(`${dir.root}/b`, "d2", 11);
  big.write(dir.root);
  assertEquals(await noopStampsDiffer(dir.root), "a stage is not in the verified index");
  const twice = new NoopStamps();
  twice.addDir(`${dir.root}/a`, "d1", 1);
  twice.addDir(`${dir.root}/a`, "d2", 1);
  twice.write(dir.root);
  assertEquals(await noopStampsDiffer(dir.root), "a stage is not in the verified index");
  const asFile = new NoopStamps();
  asFile.addDir(`${dir.root}/a`, "d1", 1);
  asFile.add(`${dir.root}/a`, 1, 1, 1);
  asFile.write(dir.root);
  assertEquals(await noopStampsDiffer(dir.root), "a stage is not in the verified index");
});

/** A listing of `dir` with every directory dated 10 s back, so that an entry added now changes its stamp. */
function listingOf(dir: string): Listing {
  const then = new Date(Date.now() - 10_000);
  const dirs: { path: string; stamp: { mtime: number; size: number; ino: number } }[] = [];
  const paths = listFiles(dir, undefined, (rel) => {
    const path = rel === "" ? dir : `${dir}/${rel}`;
    Deno.utimeSync(path, then, then);
    const info = Deno.statSync(path);
    dirs.push({ path, stamp: { mtime: info.mtime!.getTime(), size: info.size, ino: info.ino! } });
  });
  return { paths, dirs };
}

test("the gate lists a directory from the snapshot's listing only while its directories keep their stamps", async () => {
  await using dir = await tempDir();
  const data = `${dir.root}/data`;
  Deno.mkdirSync(`${data}/x/y`, { recursive: true });
  Deno.writeTextFileSync(`${data}/x/y/f.txt`, "f");
  Deno.writeTextFileSync(`${data}/g.txt`, "g");
  const write = (listing: Listing, digest: string) => {
    const stamps = new NoopStamps();
    stamps.addDir(data, digest, listing.paths.length, listing);
    stamps.lay(data);
    stamps.write(dir.root);
  };
  const listing = listingOf(data);
  const walked = await walkDigest(data);
  write(listing, walked!.digest);
  assertEquals(await noopStampsDiffer(dir.root), undefined);
  // A listing that holds is taken as the directory's files: one that names
  // a file less gives another digest (the verified index compares it with
  // the digest of a real walk, never the snapshot's).
  write({ ...listing, paths: listing.paths.slice(1) }, walked!.digest);
  assertEquals(await noopStampsDiffer(dir.root), `${data} changed`);
  // A file added deep down changes its directory's stamp: listed afresh.
  write(listing, walked!.digest);
  Deno.writeTextFileSync(`${data}/x/y/new.txt`, "n");
  assertEquals(await noopStampsDiffer(dir.root), `${data} changed`);
  const relisted = listingOf(data);
  const now = await walkDigest(data);
  write(relisted, now!.digest);
  assertEquals(await noopStampsDiffer(dir.root), undefined);
  Deno.removeSync(`${data}/x/y/f.txt`);
  assertEquals(await noopStampsDiffer(dir.root), `${data} changed`);
  // A damaged listing: a miss, never a hold.
  const broken = new NoopStamps();
  broken.addDir(data, now!.digest, 2, { paths: ["nope"], dirs: 7 } as unknown as Listing);
  broken.lay(data);
  broken.write(dir.root);
  assertEquals(await noopStampsDiffer(dir.root), `${data} changed`);
});

test("touched files (stamp changed, size not) are collected for the launcher to hash, up to a count", async () => {
  await using dir = await tempDir();
  const [a, b, lock] = ["a", "b", "c.lock"].map((name) => `${dir.root}/${name}`);
  for (const path of [a, b, lock]) Deno.writeTextFileSync(path, path);
  const stamps = new NoopStamps();
  for (
    const [path, hash] of [[a, "aaaaaaaaaaaaaaaa"], [b, "bbbbbbbbbbbbbbbb"], [lock, undefined]]
  ) {
    const info = Deno.statSync(path!);
    stamps.add(path!, info.mtime!.getTime(), info.size, info.ino!, hash);
  }
  for (const path of [lock, a, b]) stamps.lay(path);
  stamps.write(dir.root);
  const then = new Date(Date.now() - 10_000);
  Deno.utimeSync(a, then, then);
  Deno.utimeSync(b, then, then);
  // Not asked to collect: the first difference stops the gate, as always.
  assertEquals(await noopStampsDiffer(dir.root), `${a} changed`);
  assertEquals(touchedFiles(), []);
  // One at most: the second touched file stops it.
  assertEquals(await noopStampsDiffer(dir.root, { touched: 1 }), `${b} changed`);
  assertEquals(touchedFiles(), []);
  assertEquals(await noopStampsDiffer(dir.root, { touched: 2 }), TOUCHED);
  assertEquals(takeGateStamps(), undefined, "nothing kept before the hashes are in");
  assertEquals(touchedFiles(), [
    { path: a, hint: "aaaaaaaaaaaaaaaa" },
    { path: b, hint: "bbbbbbbbbbbbbbbb" },
  ]);
  const now = (path: string, hash: string, settled: boolean) => {
    const info = Deno.statSync(path);
    return { path, mtime: info.mtime!.getTime(), size: info.size, ino: info.ino!, hash, settled };
  };
  // One hash differs from its hint: the gate does not hold.
  assertEquals(
    holdTouched([now(a, "aaaaaaaaaaaaaaaa", true), now(b, "0000000000000000", true)]),
    `${b} changed`,
  );
  assertEquals(takeGateStamps(), undefined);
  // Both hold: the gate keeps the new stamps, with the hashes read.
  assertEquals(await noopStampsDiffer(dir.root, { touched: 2 }), TOUCHED);
  assertEquals(
    holdTouched([now(a, "aaaaaaaaaaaaaaaa", true), now(b, "bbbbbbbbbbbbbbbb", false)]),
    undefined,
  );
  // The new stamps are for the verified index's check: a no-op's record does not answer.
  assertEquals(gateBarsRecord(), "touched files re-hashed");
  const taken = takeGateStamps();
  assertEquals(taken?.stamps[0], then.getTime());
  assertEquals(taken?.stamps[3], then.getTime());
  assertEquals([...taken?.rehashed ?? []], [
    [0, { hash: "aaaaaaaaaaaaaaaa", settled: true }],
    [1, { hash: "bbbbbbbbbbbbbbbb", settled: false }],
  ]);
  // Hints of another snapshot (or none) are not used: a touched file stops the gate.
  const hints = `${dir.root}/${NOOP_HASHES_FILE}`;
  const kept = Deno.readTextFileSync(hints);
  Deno.writeTextFileSync(hints, `another${kept.slice(kept.indexOf("\n"))}`);
  assertEquals(await noopStampsDiffer(dir.root, { touched: 2 }), `${a} changed`);
  Deno.removeSync(hints);
  assertEquals(await noopStampsDiffer(dir.root, { touched: 2 }), `${a} changed`);
  Deno.writeTextFileSync(hints, kept);
  assertEquals(await noopStampsDiffer(dir.root, { touched: 2 }), TOUCHED);
  // A lock file has no hash to compare: touched, it stops the gate.
  Deno.utimeSync(lock, then, then);
  assertEquals(await noopStampsDiffer(dir.root, { touched: 8 }), `${lock} changed`);
  // A size that changed is an edit, not a touch.
  Deno.writeTextFileSync(a, "longer than before");
  assertEquals(await noopStampsDiffer(dir.root, { touched: 8 }), `${a} changed`);
});
