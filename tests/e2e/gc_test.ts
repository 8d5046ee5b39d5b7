/**
 * `pivot gc` through the real CLI: what the workspace (or every commit)
 * refers to is kept and stays restorable; the rest, with its run-cache and
 * state entries, goes; -n removes nothing; a run in progress stops it.
 */

import { TempProject } from "../_project.ts";
import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { test } from "../_harness.ts";
import { CHUNKED_FROM, NS } from "../../lib/storage/state.ts";

const PIPELINE = `import { loaders, out, Pipeline } from "jsr:@pivot/core";

export const pipeline = new Pipeline("gc");

pipeline.stage({
  name: "make",
  params: { version: 1 },
  outs: { model: out("model.txt", loaders.text()), parts: out("parts/") },
  run: (_deps, { params, outs }) => {
    Deno.mkdirSync(outs.parts, { recursive: true });
    Deno.writeTextFileSync(outs.parts + "/a.txt", "part a " + params.version + "\\n");
    Deno.writeTextFileSync(outs.parts + "/b.txt", "part b\\n");
    return { model: "model " + params.version + "\\n" };
  },
});
`;

/** Every object in the project's cache, as hashes. */
async function objects(p: TempProject): Promise<string[]> {
  const found: string[] = [];
  for await (const fanout of Deno.readDir(p.path(".pivot/cache/files"))) {
    for await (const entry of Deno.readDir(p.path(".pivot/cache/files", fanout.name))) {
      found.push(fanout.name + entry.name);
    }
  }
  return found.sort();
}

/** A project run at version 1 (committed), then at version 2; a second passes (ctime has seconds). */
async function twoVersions(pipeline = PIPELINE): Promise<TempProject> {
  const p = await TempProject.create({
    "pipeline.ts": pipeline,
    ".gitignore": "model.txt\nparts/\n",
  });
  try {
    await p.initGit();
    assertEquals((await p.pivot("repro")).code, 0);
    await p.commitAll("version 1");
    await p.write("params.yaml", "make:\n  version: 2\n");
    assertEquals((await p.pivot("repro")).code, 0);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    return p;
  } catch (error) {
    await p.dispose();
    throw error;
  }
}

async function gcJson(p: TempProject, ...args: string[]) {
  const result = await p.pivot("gc", "--json", ...args);
  assertEquals(result.code, 0, result.stderr);
  return JSON.parse(result.stdout);
}

test("gc removes what only an older run produced, says how much, and keeps the workspace restorable", async () => {
  await using p = await twoVersions();
  const before = await objects(p);
  // Version 1's model, its part a and its manifest are garbage; b.txt is shared by both.
  const dry = await p.pivot("gc", "-n");
  assertEquals(dry.code, 0, dry.stderr);
  const listed = dry.stdout.split("\n").filter((line) => line.startsWith("would remove"));
  assertEquals(listed.length, 3, dry.stdout);
  assertMatch(
    dry.stdout,
    /Would remove 3 cache objects \(\d+ B\); kept 4, referred to by the workspace\./,
  );
  assertEquals(await objects(p), before, "-n removes nothing");

  const text = await p.pivot("gc");
  assertEquals(text.code, 0, text.stderr);
  assertMatch(text.stdout, /^Removed 3 cache objects \(\d+ B\); kept 4/);
  assertMatch(text.stdout, /Removed 1 run-cache entries/);
  assertEquals((await objects(p)).length, 4);
  assertEquals((await gcJson(p)).objects, 0, "a second gc finds nothing");

  await Deno.remove(p.path("model.txt"));
  await Deno.remove(p.path("parts"), { recursive: true });
  const checkout = await p.pivot("checkout");
  assertEquals(checkout.code, 0, checkout.stderr);
  assertEquals(await p.read("model.txt"), "model 2\n");
  assertEquals(await p.read("parts/a.txt"), "part a 2\n");

  // Version 1's run-cache entry went with its objects: going back runs the stage again.
  await Deno.remove(p.path("params.yaml"));
  const back = await p.events("repro");
  assertEquals(TempProject.byStatus(back.events), { ran: ["make"] });
});

test("gc --all-commits keeps what any commit refers to, and its run-cache entry", async () => {
  await using p = await twoVersions();
  const report = await gcJson(p, "--all-commits");
  assertEquals([report.objects, report.kept, report.references.commits], [0, 7, 1]);
  assertEquals(report.run_cache, { removed: 0, kept: 2 });

  // Back at version 1 (as after checking out the first commit), the run cache restores it.
  await Deno.remove(p.path("params.yaml"));
  const back = await p.events("repro");
  assertEquals(TempProject.byStatus(back.events), { restored: ["make"] });
  assertEquals(await p.read("model.txt"), "model 1\n");
});

test("gc prunes fingerprint analyses and file hashes nothing refers to", async () => {
  await using p = await twoVersions();
  await p.edit("pipeline.ts", '"model "', '"model: "');
  assertEquals((await p.pivot("repro")).code, 0);
  const summaries = async () => {
    const state = await p.state();
    const count = (await state.list(["fp"]))
      .filter(({ key }) => key[1] === "summary" && key.length === 4).length;
    await p.closeState();
    return count;
  };
  const before = await summaries();
  assert(before >= 2, `${before} summaries`);
  const report = await gcJson(p);
  assert(report.state_entries >= 1, JSON.stringify(report));
  assertEquals(await summaries(), 1, "only the analysis of pipeline.ts as it is now is kept");
  // Still warm and correct: nothing re-runs.
  assertEquals(TempProject.byStatus((await p.events("repro")).events), { skipped: ["make"] });
});

test("gc refuses to run while another pivot process holds a stage's lock", async () => {
  await using p = await twoVersions();
  const owner = JSON.stringify({ pid: Deno.pid, host: Deno.hostname(), since: Date.now() });
  await p.write(".pivot/tmp/locks/make.lock", owner);
  const refused = await p.pivot("gc");
  assertEquals(refused.code, 2);
  assertMatch(refused.stderr.trim(), /^error: gc: another pivot process is running stage 'make'/);
  assertEquals((await objects(p)).length, 7);
  // A lock left by a process that is gone does not count.
  await p.write(
    ".pivot/tmp/locks/make.lock",
    JSON.stringify({ pid: 2 ** 22 + 12345, host: Deno.hostname(), since: 0 }),
  );
  assertEquals((await gcJson(p)).objects, 3);
});

test("gc removes the directory digests (dirObjects) of the manifests it removes", async () => {
  await using p = await twoVersions();
  const digests = async () => {
    const state = await p.state();
    const keys = (await state.list([NS.dirObjects])).map(({ key }) => String(key[1]));
    await p.closeState();
    return keys.sort();
  };
  // A restore checks a directory's objects and records their digest: go
  // back to version 1 (restored from the run cache) and forward to 2.
  await Deno.remove(p.path("params.yaml"));
  assertEquals(TempProject.byStatus((await p.events("repro")).events), { restored: ["make"] });
  await p.write("params.yaml", "make:\n  version: 2\n");
  assertEquals(TempProject.byStatus((await p.events("repro")).events), { restored: ["make"] });
  await new Promise((resolve) => setTimeout(resolve, 1_100));
  const before = await digests();
  assertEquals(before.length, 2, JSON.stringify(before));
  const cached = await objects(p);
  for (const manifest of before) assert(cached.includes(manifest), `${manifest} is cached`);

  assertEquals((await gcJson(p)).objects, 3);
  // Version 1's manifest went, and its digest with it; version 2's stays.
  const after = await digests();
  const left = await objects(p);
  assertEquals(after.length, 1, JSON.stringify(after));
  assert(left.includes(after[0]), "the digest kept is the kept manifest's");
  const gone = before.filter((m) => !after.includes(m));
  assertEquals(gone.length, 1);
  assert(!left.includes(gone[0]), "the digest removed is the removed manifest's");

  // The kept digest still serves: parts/ restores from the cache.
  await Deno.remove(p.path("parts"), { recursive: true });
  assertEquals((await p.pivot("checkout")).code, 0);
  assertEquals(await p.read("parts/a.txt"), "part a 2\n");
});

test("gc removes the chunked object stamps (objectChunk) of the large directory manifests it removes", async () => {
  // parts/ with CHUNKED_FROM files more (the same in both versions): its stamps in chunks per manifest.
  await using p = await twoVersions(PIPELINE.replace(
    `    return { model:`,
    `    for (let i = 0; i < ${CHUNKED_FROM}; i++) Deno.writeTextFileSync(outs.parts + "/c" + i + ".txt", "c " + i);\n    return { model:`,
  ));
  const chunked = async () => {
    const state = await p.state();
    const keys = (await state.list([NS.objectChunk])).map(({ key }) => String(key[1]));
    await p.closeState();
    return [...new Set(keys)].sort();
  };
  const before = await chunked();
  assertEquals(before.length, 2, JSON.stringify(before));
  assertEquals((await gcJson(p)).objects, 3);
  const after = await chunked();
  const left = await objects(p);
  assertEquals(after.length, 1, JSON.stringify(after));
  assert(left.includes(after[0]), "the chunks kept are the kept manifest's");
  assert(!left.includes(before.find((m) => m !== after[0])!), "the removed manifest's went");
  // The kept chunks still serve: parts/ restores from the cache.
  await Deno.remove(p.path("parts"), { recursive: true });
  assertEquals((await p.pivot("checkout")).code, 0);
  const last = CHUNKED_FROM - 1;
  assertEquals(await p.read(`parts/c${last}.txt`), `c ${last}`);
});
