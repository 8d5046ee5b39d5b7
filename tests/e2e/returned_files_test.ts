/**
 * A directory out whose files the stage returns (`loaders.files()`): Pivot
 * writes them itself, outside the stage's sandbox, each once, straight into
 * the workspace and the cache. The directory is the same out as one the
 * stage writes itself (same manifest, lock file, checkout and no-op); a
 * returned path that would leave the directory fails the stage with
 * nothing written.
 */

import { parse } from "yaml";
import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { runPivot, TempProject } from "../_project.ts";
import { test } from "../_harness.ts";
import { hashFile } from "../../lib/storage/hash.ts";
import { PARALLEL_FROM_STARTED } from "../../lib/storage/stat_many.ts";

/** Two stages making the same tree, one returning it and one writing it; a third reading it. */
const PIPELINE = `import { dep, loaders, out, Pipeline } from "jsr:@pivot/core";
export const pipeline = new Pipeline("returned");

function tree(seed: string): Record<string, string> {
  return {
    "a.txt": seed,
    "empty.txt": "",
    "sub/b.txt": "bee\\n",
    "sub/deep/c.txt": "naïve ✓\\n",
    "twin.txt": "bee\\n",
  };
}

pipeline.stage({
  name: "returned",
  deps: { seed: dep("seed.txt", loaders.text()) },
  outs: { gen: out("gen/", loaders.files({ text: true })) },
  run: ({ seed }) => ({ gen: tree(seed) }),
});

pipeline.stage({
  name: "written",
  deps: { seed: dep("seed.txt", loaders.text()) },
  outs: { gen: out("self/") },
  run: ({ seed }, ctx) => {
    for (const [path, text] of Object.entries(tree(seed))) {
      Deno.mkdirSync(\`\${ctx.outs.gen}/\${path}/..\`, { recursive: true });
      Deno.writeTextFileSync(\`\${ctx.outs.gen}/\${path}\`, text);
    }
  },
});

pipeline.stage({
  name: "read",
  deps: { gen: dep("gen/", loaders.files({ text: true })) },
  outs: { listing: out("listing.json", loaders.json<string[]>()) },
  run: ({ gen }) => ({ listing: Object.entries(gen).map(([path, text]) => \`\${path}=\${text}\`) }),
});
`;

const FILES = ["a.txt", "empty.txt", "sub/b.txt", "sub/deep/c.txt", "twin.txt"];

async function lockOut(p: TempProject, stage: string): Promise<Record<string, unknown>> {
  const lock = parse(await p.read(`.pivot/stages/${stage}.lock`)) as {
    outs: Record<string, unknown>[];
  };
  return lock.outs[0];
}

/** Each file of `dir`: [whether it is its cache object's inode, whether it is writable]. */
async function linkage(p: TempProject, dir: string): Promise<Record<string, [boolean, boolean]>> {
  const result: Record<string, [boolean, boolean]> = {};
  for (const file of FILES) {
    const path = p.path(dir, file);
    const hash = await hashFile(path);
    const object = p.path(".pivot/cache/files", hash.slice(0, 2), hash.slice(2));
    assertEquals(await hashFile(object), hash, `${file}'s object is intact`);
    const [info, cached] = [await Deno.stat(path), await Deno.stat(object)];
    result[file] = [info.ino === cached.ino, (info.mode! & 0o200) !== 0];
  }
  return result;
}

/** The cache's objects (none when it has no objects' folder). */
async function objectsIn(p: TempProject): Promise<string[]> {
  const found: string[] = [];
  if (!await p.exists(".pivot/cache/files")) return found;
  for await (const fan of Deno.readDir(p.path(".pivot/cache/files"))) {
    for await (const object of Deno.readDir(p.path(".pivot/cache/files", fan.name))) {
      found.push(fan.name + object.name);
    }
  }
  return found;
}

function all(value: [boolean, boolean]): Record<string, [boolean, boolean]> {
  return Object.fromEntries(FILES.map((f) => [f, value]));
}

for (const mode of ["copy", "hardlink"] as const) {
  test(`${mode} mode: returned files are the same out as written ones, read back by a dep, restored by checkout`, async () => {
    await using p = await TempProject.create({
      "pipeline.ts": PIPELINE,
      "seed.txt": "one\n",
      ".pivot/config.yaml": `cache:\n  type: ${mode}\n`,
    });
    const first = await p.events("repro");
    assertEquals(TempProject.byStatus(first.events), { ran: ["read", "returned", "written"] });
    for (const [i, file] of FILES.entries()) {
      const text = ["one\n", "", "bee\n", "naïve ✓\n", "bee\n"][i];
      assertEquals(await p.read(`gen/${file}`), text, file);
    }
    assertEquals(JSON.parse(await p.read("listing.json")), [
      "a.txt=one\n",
      "empty.txt=",
      "sub/b.txt=bee\n",
      "sub/deep/c.txt=naïve ✓\n",
      "twin.txt=bee\n",
    ]);
    // One manifest whoever wrote the files: the same hash, count and size.
    const [returned, written] = [await lockOut(p, "returned"), await lockOut(p, "written")];
    assertEquals({ ...returned, path: "" }, { ...written, path: "" });
    assertEquals([returned.files, returned.size], [5, 4 + 0 + 4 + 11 + 4]);
    assertEquals(await linkage(p, "gen"), all(mode === "hardlink" ? [true, false] : [false, true]));
    assertEquals(TempProject.byStatus((await p.events("repro")).events), {
      skipped: ["read", "returned", "written"],
    });

    await Deno.remove(p.path("gen"), { recursive: true });
    const checkout = await p.pivot("checkout");
    assertEquals(checkout.code, 0, checkout.stderr);
    assertEquals(await p.read("gen/sub/deep/c.txt"), "naïve ✓\n");
    assertEquals(await linkage(p, "gen"), all(mode === "hardlink" ? [true, false] : [false, true]));

    // A new seed: the objects of the files that stay the same are there.
    await p.write("seed.txt", "two\n");
    const second = await p.events("repro");
    assertEquals(TempProject.byStatus(second.events), { ran: ["read", "returned", "written"] });
    assertEquals(await p.read("gen/a.txt"), "two\n");
    assertEquals(await linkage(p, "gen"), all(mode === "hardlink" ? [true, false] : [false, true]));
    assertEquals((await lockOut(p, "returned")).hash, (await lockOut(p, "written")).hash);
  });
}

for (const mode of ["hardlink", "copy"] as const) {
  test(`${mode} mode, a large returned directory: written on two threads, then on one; each file restorable`, async () => {
    const n = PARALLEL_FROM_STARTED;
    const pipeline = `import { dep, loaders, out, Pipeline } from "jsr:@pivot/core";
export const pipeline = new Pipeline("large");
pipeline.stage({
  name: "many",
  deps: { seed: dep("seed.txt", loaders.text()) },
  outs: { gen: out("gen/", loaders.files()) },
  run: ({ seed }) => {
    const gen: Record<string, Uint8Array> = {};
    const encoder = new TextEncoder();
    // Every tenth file's content is the same in every run and every file.
    for (let i = 0; i < ${n}; i++) {
      gen[\`d\${i % 13}/f\${i}.txt\`] = encoder.encode(i % 10 === 0 ? "same\\n" : \`\${seed.trim()} \${i}\\n\`);
    }
    return { gen };
  },
});
`;
    await using p = await TempProject.create({
      "pipeline.ts": pipeline,
      "seed.txt": "one",
      ".pivot/config.yaml": `cache:\n  type: ${mode}\n`,
    });
    const check = async (seed: string) => {
      for (const i of [0, 1, n / 2 - 1, n / 2, n - 2, n - 1]) {
        const path = p.path(`gen/d${i % 13}/f${i}.txt`);
        const text = i % 10 === 0 ? "same\n" : `${seed} ${i}\n`;
        assertEquals(await Deno.readTextFile(path), text, `file ${i}`);
        const hash = await hashFile(path);
        const object = p.path(".pivot/cache/files", hash.slice(0, 2), hash.slice(2));
        const [info, cached] = [await Deno.stat(path), await Deno.stat(object)];
        assertEquals(await hashFile(object), hash, `object ${i} is intact`);
        if (mode === "hardlink") {
          assertEquals([info.ino, info.mode! & 0o777], [cached.ino, 0o444], `file ${i}`);
        } else {
          assert(
            info.ino !== cached.ino && (info.mode! & 0o200) !== 0,
            `file ${i} is a writable copy`,
          );
        }
      }
      const out = await lockOut(p, "many");
      assertEquals(out.files, n);
    };
    // Two threads (the helper on whatever the load), then one.
    const both = await runPivot(p.root, ["repro"], { PIVOT_HELPER_THREAD: "on", PIVOT_TRACE: "1" });
    assertEquals(both.code, 0, both.stderr);
    const op = mode === "hardlink" ? "writeLink" : "writeCopy";
    assertMatch(both.stderr, new RegExp(`${op} of \\d+ files: [1-9]\\d* by the helper thread`));
    await check("one");
    await p.write("seed.txt", "two");
    const one = await runPivot(p.root, ["repro"], { PIVOT_HELPER_THREAD: "off" });
    assertEquals(one.code, 0, one.stderr);
    await check("two");
    assertEquals(TempProject.byStatus((await p.events("repro")).events), { skipped: ["many"] });
    await Deno.remove(p.path("gen"), { recursive: true });
    assertEquals((await p.pivot("checkout")).code, 0);
    await check("two");

    // --no-commit: written on two threads, nothing stored.
    if (mode === "hardlink") return;
    await p.write("seed.txt", "three");
    const env = { PIVOT_HELPER_THREAD: "on" };
    const noCommit = await runPivot(p.root, ["repro", "--no-commit"], env);
    assertEquals(noCommit.code, 0, noCommit.stdout + noCommit.stderr);
    for (const i of [1, n / 2, n - 1]) {
      const path = p.path(`gen/d${i % 13}/f${i}.txt`);
      assertEquals(await Deno.readTextFile(path), `three ${i}\n`);
      const hash = await hashFile(path);
      assert(!await p.exists(`.pivot/cache/files/${hash.slice(0, 2)}/${hash.slice(2)}`));
    }
  });
}

test("a returned path that would leave the directory fails the stage, and nothing is written", async () => {
  const pipeline = (gen: string) =>
    `import { loaders, out, Pipeline } from "jsr:@pivot/core";
export const pipeline = new Pipeline("bad");
pipeline.stage({
  name: "bad",
  outs: { gen: out("site/gen/", loaders.files({ text: true })) },
  run: (_deps, ctx) => {
    ${gen}
  },
});
`;
  await using p = await TempProject.create({
    "pipeline.ts": pipeline(`return { gen: { "ok.txt": "fine", "../../escape.txt": "no" } };`),
  });
  const cases: [string, RegExp][] = [
    [
      `return { gen: { "ok.txt": "fine", "../../escape.txt": "no" } };`,
      /FAILED\s+bad: stage 'bad': could not save out 'gen' \(site\/gen\/\) with loaders\.files\(\): Error: file '\.\.\/\.\.\/escape\.txt' leads out of the directory through '\.\.': name it by a path inside it/,
    ],
    [
      `return { gen: { "/tmp/abs.txt": "no" } };`,
      /file '\/tmp\/abs\.txt' is an absolute path/,
    ],
    [
      `return { gen: { "a": "file", "a/b": "below a file" } };`,
      /'a' is given as a file and as the directory of 'a\/b': a path cannot be both; rename one/,
    ],
    [
      `return { gen: { "a.txt": 42 } } as never;`,
      /file 'a\.txt': content is a number: give a string \(written as UTF-8\) or a Uint8Array/,
    ],
    [
      `Deno.writeTextFileSync(ctx.outs.gen + "/mine.txt", "x");
    return { gen: { "a.txt": "a" } };`,
      /stage 'bad': out 'gen' \(site\/gen\/\): the stage returns its files \(loaders\.files\(\)\) and also wrote into ctx\.outs\.gen: return every file, or declare out\("site\/gen\/"\) without a loader and write them all/,
    ],
  ];
  for (const [body, message] of cases) {
    await p.write("pipeline.ts", pipeline(body));
    const result = await p.pivot("repro");
    assertEquals(result.code, 1, result.stdout + result.stderr);
    assertMatch(result.stdout + result.stderr, message);
    assert(!(result.stdout + result.stderr).includes("    at "), "no stack trace");
    assert(!await p.exists("site"), "nothing placed");
    assert(!await p.exists("escape.txt") && !await p.exists("site/escape.txt"), "nothing escaped");
    assert(!await p.exists(".pivot/stages/bad.lock"), "no lock file");
  }
  // Nothing of the refused runs is in the cache.
  assertEquals(await objectsIn(p), []);
});

test("loaders.files() on a path that is not a directory is a definition error, exit 2", async () => {
  await using p = await TempProject.create({
    "pipeline.ts": `import { loaders, out, Pipeline } from "jsr:@pivot/core";
export const pipeline = new Pipeline("p");
pipeline.stage({
  name: "pages",
  outs: { pages: out("pages", loaders.files()) },
  run: () => ({ pages: {} }),
});
`,
  });
  const result = await p.pivot("repro");
  assertEquals(result.code, 2);
  assertMatch(
    result.stderr,
    /pipeline\.ts:\d+: stage 'pages': out 'pages' \(pages\) uses loaders\.files\(\), which is for a directory: end its path with '\/'/,
  );
  assertEquals(result.stderr.trim().split("\n").length, 1, result.stderr);
});

test("--no-commit: returned files are written, and nothing is stored", async () => {
  await using p = await TempProject.create({ "pipeline.ts": PIPELINE, "seed.txt": "one\n" });
  const result = await p.pivot("repro", "returned", "--no-commit");
  assertEquals(result.code, 0, result.stderr);
  assertEquals(await p.read("gen/sub/b.txt"), "bee\n");
  assert(((await Deno.stat(p.path("gen/sub/b.txt"))).mode! & 0o200) !== 0, "writable");
  assertEquals(await objectsIn(p), []);
});

test("a loaders.files() dep is read by Pivot and handed to the stage, as text or bytes", async () => {
  await using p = await TempProject.create({
    "pipeline.ts": `import { dep, loaders, out, Pipeline } from "jsr:@pivot/core";
export const pipeline = new Pipeline("deps");
pipeline.stage({
  name: "list",
  deps: { text: dep("data/", loaders.files({ text: true })), bytes: dep("bin/", loaders.files()) },
  outs: { listing: out("listing.json", loaders.json<unknown>()) },
  run: ({ text, bytes }) => ({
    listing: {
      text,
      sizes: Object.fromEntries(Object.entries(bytes).map(([path, b]) => [path, [b.constructor.name, b.length]])),
    },
  }),
});
`,
    "data/a.txt": "a\n",
    "data/sub/b.txt": "naïve ✓\n",
    "bin/a.txt": "a\n",
    "bin/sub/b.txt": "naïve ✓\n",
  });
  const result = await runPivot(p.root, ["repro"], { PIVOT_TRACE: "1" });
  assertEquals(result.code, 0, result.stderr);
  assertMatch(result.stderr, /engine: list's files deps read/);
  assertEquals(JSON.parse(await p.read("listing.json")), {
    text: { "a.txt": "a\n", "sub/b.txt": "naïve ✓\n" },
    sizes: { "a.txt": ["Uint8Array", 2], "sub/b.txt": ["Uint8Array", 11] },
  });
  // A changed file re-runs the stage with the new content.
  await p.write("data/a.txt", "changed\n");
  assertEquals((await p.pivot("repro")).code, 0);
  assertEquals(JSON.parse(await p.read("listing.json")).text["a.txt"], "changed\n");
});
