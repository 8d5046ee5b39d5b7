/**
 * Change detection, watch mode and the worker sandbox when Pivot's own
 * modules are remote (`deno run -A jsr:@pivot/cli`), against a JSR registry
 * on loopback that also holds a small package of the user's, published in
 * two versions.
 */

import { join } from "node:path";
import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { test } from "../_harness.ts";
import { WatchProcess } from "../e2e/_watch.ts";
import { ok, publishPivot, stagesByStatus, writeFiles } from "./_published.ts";

const GREET = "@pivottest/greet";

const PIPELINE = `import { dep, loaders, out, Pipeline } from "jsr:@pivot/core";
import { welcome } from "./lib/welcome.ts";
import { shout } from "./lib/shout.ts";

export const pipeline = new Pipeline("names");

const names = dep("data/names.txt", loaders.text());

pipeline.stage({
  name: "welcome",
  deps: { names },
  outs: { o: out("build/welcome.txt", loaders.text()) },
  run: ({ names }) => ({ o: welcome(names) }),
});

pipeline.stage({
  name: "loud",
  deps: { names },
  outs: { o: out("build/loud.txt", loaders.text()) },
  run: ({ names }) => ({ o: shout(names) }),
});

pipeline.stage({
  name: "count",
  deps: { names },
  outs: { o: out("build/count.txt", loaders.text()) },
  run: ({ names }) => ({ o: String(names.trim().split("\\n").length) }),
});
`;

const WELCOME = `import { greet } from "greet";

export function welcome(names: string): string {
  return names.trim().split("\\n").map(greet).join("\\n");
}
`;

const SHOUT = (mark: string) =>
  `export function shout(names: string): string {
  return names.toUpperCase() + "${mark}";
}
`;

const greetModule = (word: string) =>
  `/** Greet someone. */
export function greet(name: string): string {
  return "${word} " + name;
}
`;

// Publishing (a type-check on a cold cache) and each new user's first run
// (an empty DENO_DIR) take a while on a loaded machine: a longer limit for the
// test's own part; its steps each have theirs.
test("Pivot from JSR: change detection, watch and sandbox", { timeLimit: 300_000 }, async (t) => {
  await using pivot = await publishPivot({ extraPackages: [GREET], typeCheck: false });
  await pivot.publishPackage(GREET, "1.0.0", { "mod.ts": greetModule("hello") });
  const user = await pivot.newUser();
  const dir = await pivot.project({
    "deno.json": JSON.stringify({ imports: { greet: `jsr:${GREET}@^1.0.0` } }, null, 2),
    "pipeline.ts": PIPELINE,
    "lib/welcome.ts": WELCOME,
    "lib/shout.ts": SHOUT("!"),
    "data/names.txt": "ada\ngrace\n",
  });
  const repro = async () =>
    stagesByStatus(ok(await user.pivot(dir, "repro", "--json"), "repro").stdout);
  ok(await user.pivot(dir, "init"), "init");
  assertEquals(await repro(), { ran: ["count", "loud", "welcome"] });
  assertEquals(await Deno.readTextFile(join(dir, "build/welcome.txt")), "hello ada\nhello grace");

  await t.step("a helper edit re-runs exactly the stage that calls it", async () => {
    await writeFiles(dir, { "lib/shout.ts": SHOUT("!!") });
    assertEquals(await repro(), { ran: ["loud"], skipped: ["count", "welcome"] });
  });

  await t.step(
    "a jsr: package bumped in the lock re-runs the stages that import it",
    async () => {
      await pivot.publishPackage(GREET, "1.1.0", { "mod.ts": greetModule("hi") });
      // Nothing changed for this project yet: its lock still pins 1.0.0.
      assertEquals(await repro(), { skipped: ["count", "loud", "welcome"] });
      // Bump it, as a user would (this also raises the constraint in deno.json).
      ok(await user.deno(dir, "outdated", "--update"), "deno outdated --update");
      assertMatch(await Deno.readTextFile(join(dir, "deno.lock")), /"@pivottest\/greet@1\.1\.0"/);
      const status = JSON.parse(
        ok(await user.pivot(dir, "status", "--json", "welcome"), "status").stdout,
      );
      const changes = status.stages[0].changes.code.map((c: { key: string }) => c.key);
      assertEquals(changes, [`jsr:${GREET}`]);
      assertEquals(await repro(), { ran: ["welcome"], skipped: ["count", "loud"] });
      assertEquals(await Deno.readTextFile(join(dir, "build/welcome.txt")), "hi ada\nhi grace");
    },
  );

  await t.step("watch mode re-runs what an edit affects", async () => {
    const watch = WatchProcess.attach(
      user.spawnPivot(dir, "repro", "--watch", "--json", "--debounce", "100"),
    );
    try {
      assertEquals(await watch.ranIn(1), []);
      await writeFiles(dir, { "lib/shout.ts": SHOUT("?") });
      assertEquals(await watch.ranIn(2), ["loud"]);
      await writeFiles(dir, { "data/names.txt": "ada\ngrace\nlinus\n" });
      assertEquals(await watch.ranIn(3), ["count", "loud", "welcome"]);
    } finally {
      await watch.interrupt().catch(() => watch.kill());
    }
    assertEquals(await Deno.readTextFile(join(dir, "build/loud.txt")), "ADA\nGRACE\nLINUS\n?");
  });

  await t.step("stages stay sandboxed: an undeclared write or read fails the stage", async () => {
    const sandbox = await pivot.project({
      "pipeline.ts": `import { dep, loaders, out, Pipeline } from "jsr:@pivot/core";
import { greet } from "jsr:${GREET}@^1";
export const pipeline = new Pipeline("sandbox");
pipeline.stage({
  name: "polite",
  deps: { name: dep("data/name.txt", loaders.text()) },
  outs: { o: out("build/polite.txt", loaders.text()) },
  run: ({ name }) => ({ o: greet(name.trim()) }),
});
pipeline.stage({
  name: "stray",
  deps: { name: dep("data/name.txt", loaders.text()) },
  outs: { o: out("build/stray.txt", loaders.text()) },
  run: async ({ name }) => {
    await Deno.writeTextFile("elsewhere.txt", name);
    return { o: name };
  },
});
pipeline.stage({
  name: "nosy",
  deps: { name: dep("data/name.txt", loaders.text()) },
  outs: { o: out("build/nosy.txt", loaders.text()) },
  run: async () => ({ o: await Deno.readTextFile("secret.txt") }),
});
`,
      "data/name.txt": "ada\n",
      "secret.txt": "do not read",
    });
    ok(await user.pivot(sandbox, "init"), "init");
    const result = await user.pivot(sandbox, "repro", "--keep-going", "--json");
    assertEquals(result.code, 1, result.stderr);
    assertEquals(stagesByStatus(result.stdout), { failed: ["nosy", "stray"], ran: ["polite"] });
    assertEquals(await Deno.readTextFile(join(sandbox, "build/polite.txt")), "hi ada");
    assertMatch(
      result.stdout,
      /'elsewhere\.txt' at pipeline\.ts:\d+:\d+, which is not a declared out/,
    );
    assertMatch(
      result.stdout,
      /'secret\.txt' at pipeline\.ts:\d+:\d+, which is not a declared dep/,
    );
    assert(!(await Deno.stat(join(sandbox, "elsewhere.txt")).catch(() => false)));
  });
});
