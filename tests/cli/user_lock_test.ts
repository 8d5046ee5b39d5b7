/**
 * The launcher's child loads Pivot's modules lazily only once the user's lock
 * file records every package Pivot uses (`lib/cli/user_lock.ts`).
 */

import { join } from "node:path";
import { lockHoldsPivotPackages, PIVOT_PACKAGES } from "../../lib/cli/user_lock.ts";
import { assertEquals } from "../_assert.ts";
import { test } from "../_harness.ts";
import { REPO, tempDir, TempProject } from "../_project.ts";

test("PIVOT_PACKAGES is what a project's first command records, as deno.json pins it", async () => {
  await using project = await TempProject.create({
    "pivot.yaml": "stages:\n  s:\n    cmd: echo hi > o.txt\n    outs: [o.txt]\n",
  });
  const lock = JSON.parse(await project.read("deno.lock"));
  const recorded = Object.keys(lock.specifiers).filter((s) => s.startsWith("npm:")).sort();
  assertEquals(recorded, [...PIVOT_PACKAGES].sort());
  assertEquals(lockHoldsPivotPackages(project.path("deno.json")), true);
  const pinned = new Set(
    Object.values(JSON.parse(await Deno.readTextFile(join(REPO, "deno.json"))).imports),
  );
  for (const specifier of PIVOT_PACKAGES) assertEquals(pinned.has(specifier), true, specifier);
});

test("lockHoldsPivotPackages reads the lock file the config names, or none", async () => {
  await using dir = await tempDir();
  const config = dir.path("deno.json");
  const full = JSON.stringify({
    version: "5",
    specifiers: Object.fromEntries(PIVOT_PACKAGES.map((s) => [s, s.split("@").at(-1)])),
  });
  const short = JSON.stringify({ version: "5", specifiers: { [PIVOT_PACKAGES[0]]: "1" } });
  await Deno.writeTextFile(config, "{}");
  assertEquals(lockHoldsPivotPackages(config), false, "no lock yet");
  await Deno.writeTextFile(dir.path("deno.lock"), short);
  assertEquals(lockHoldsPivotPackages(config), false, "a package missing");
  await Deno.writeTextFile(dir.path("deno.lock"), full);
  assertEquals(lockHoldsPivotPackages(config), true);
  await Deno.writeTextFile(config, '// JSONC\n{ "lock": false }');
  assertEquals(lockHoldsPivotPackages(config), true, "no lock kept: nothing to record");
  await Deno.writeTextFile(config, '{ "lock": "locks/a.lock" }');
  assertEquals(lockHoldsPivotPackages(config), false, "the named lock is missing");
  await Deno.mkdir(dir.path("locks"));
  await Deno.writeTextFile(dir.path("locks", "a.lock"), full);
  assertEquals(lockHoldsPivotPackages(config), true);
  await Deno.writeTextFile(config, '{ "lock": { "path": "locks/b.lock", "frozen": true } }');
  assertEquals(lockHoldsPivotPackages(config), false);
  await Deno.writeTextFile(dir.path("locks", "b.lock"), full);
  assertEquals(lockHoldsPivotPackages(config), true);
  await Deno.writeTextFile(config, "{ not json");
  assertEquals(lockHoldsPivotPackages(config), false, "unsure: not lazy");
});
