/**
 * `pivot import-dvc` and `pivot export` on a real DVC project (Python
 * scripts with pandas and scikit-learn, `params.yaml`, a `foreach` stage and
 * directory outs: see `_dvc.ts`), end to end through the CLI.
 */

import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { test } from "../_harness.ts";
import { TempProject } from "../_project.ts";
import { DvcProject } from "./_dvc.ts";

const ALL = ["evaluate@test", "evaluate@train", "featurize", "prepare", "train"];
const LONG = { timeLimit: 900_000 };

test(
  "import-dvc converts the pipeline; repro runs it, then only what an edit affects",
  LONG,
  async (t) => {
    await using p = await DvcProject.create();

    await t.step("import-dvc writes pivot.yaml and reports a missing dvc.lock", async () => {
      const imported = await p.pivot("import-dvc");
      assertEquals(imported.code, 0, imported.stderr);
      assertMatch(imported.stdout, /wrote {6}pivot\.yaml {2}\(from dvc\.yaml, 5 stages\)/);
      assertMatch(imported.stdout, /no lock {4}dvc\.lock: every stage will run/);
      assert(await p.exists(".pivot"));
    });

    await t.step("the first repro runs every stage, the second none", LONG, async () => {
      const first = await p.events("repro");
      assertEquals(first.result.code, 0, first.result.stderr);
      assertEquals(TempProject.byStatus(first.events), { ran: ALL });
      // Stage output streams with the stage's prefix.
      assertMatch(
        first.result.stderr + first.result.stdout,
        /\[prepare\] prepared 120 train and 40 test reviews/,
      );
      const metrics = JSON.parse(await p.read("eval/test/metrics.json"));
      assert(metrics.accuracy > 0.5, `accuracy ${metrics.accuracy}`);
      const second = await p.events("repro");
      assertEquals(TempProject.byStatus(second.events), { skipped: ALL });
    });

    await t.step(
      "a params edit re-runs the stage naming the key, and what its outs change",
      LONG,
      async () => {
        await p.edit("params.yaml", "n_est: 8", "n_est: 9");
        const status = await statusOf(p);
        assertEquals(status.get("train"), { status: "will-run", reasons: ["params"] });
        assertEquals(status.get("featurize"), { status: "up-to-date", reasons: [] });
        assertEquals(status.get("evaluate@test"), { status: "will-run", reasons: ["upstream"] });
        const run = await p.events("repro");
        assertEquals(TempProject.byStatus(run.events), {
          ran: ["evaluate@test", "evaluate@train", "train"],
          skipped: ["featurize", "prepare"],
        });
      },
    );

    await t.step("a params key no stage names re-runs nothing", async () => {
      await p.write("params.yaml", (await p.read("params.yaml")) + "\nunused: 1\n");
      const run = await p.events("repro");
      assertEquals(TempProject.byStatus(run.events), { skipped: ALL });
    });

    await t.step("a script edit re-runs its stage and everything downstream", LONG, async () => {
      await p.edit(
        "src/featurize.py",
        'ngram_range=(1, params["ngrams"])',
        'ngram_range=(1, params["ngrams"]), norm="l1"',
      );
      const run = await p.events("repro");
      assertEquals(TempProject.byStatus(run.events), {
        ran: ["evaluate@test", "evaluate@train", "featurize", "train"],
        skipped: ["prepare"],
      });
    });

    await t.step(
      "an edit that leaves a stage's outs as they were stops there, as in DVC",
      LONG,
      async () => {
        await p.edit(
          "src/train.py",
          '"""Train',
          '# a comment changes the script, not the model\n"""Train',
        );
        const run = await p.events("repro");
        assertEquals(TempProject.byStatus(run.events), {
          ran: ["train"],
          skipped: ["evaluate@test", "evaluate@train", "featurize", "prepare"],
        });
      },
    );

    await t.step("export writes a dvc.yaml that imports back into the same graph", async () => {
      const exported = await p.pivot("export", "-o", "exported/dvc.yaml");
      assertEquals(exported.code, 0, exported.stderr);
      const text = await p.read("exported/dvc.yaml");
      assertMatch(text, /cmd: pivot run prepare/);
      assertMatch(text, /cmd: pivot run evaluate@\$\{key\}/);
      await assertSameGraph(p, "exported/dvc.yaml");
    });
  },
);

test(
  "an imported dvc.lock that matches the workspace makes the first repro a no-op",
  LONG,
  async () => {
    await using p = await DvcProject.create();
    await p.reproAsDvc();
    const imported = await p.pivot("import-dvc");
    assertEquals(imported.code, 0, imported.stderr);
    assertMatch(
      imported.stdout,
      /recorded {3}prepare, featurize, train, evaluate@train, evaluate@test {2}\(dvc\.lock matches the workspace\)/,
    );
    const status = await statusOf(p);
    for (const name of ALL) assertEquals(status.get(name)?.status, "up-to-date", name);
    const run = await p.events("repro");
    assertEquals(run.result.code, 0, run.result.stderr);
    assertEquals(TempProject.byStatus(run.events), { skipped: ALL });
    // The outs are in Pivot's cache: deleting one restores it rather than re-running.
    await Deno.remove(p.path("model.pkl"));
    const restored = await p.events("repro");
    assertEquals(TempProject.byStatus(restored.events), {
      restored: ["train"],
      skipped: ["evaluate@test", "evaluate@train", "featurize", "prepare"],
    });
  },
);

test(
  "import-dvc tracks .dvc data as .pvt files and brings back what only DVC's cache holds",
  LONG,
  async () => {
    await using p = await DvcProject.create();
    await p.write("data/extra/a.txt", "a\n");
    await p.write("data/extra/sub/b.txt", "b\n");
    await p.write("data/notes.txt", "as added\n");
    await p.addAsDvc("data/reviews.tsv", "data/extra", "data/notes.txt");
    await p.reproAsDvc();
    const reviews = await Deno.readFile(p.path("data/reviews.tsv"));
    const model = await Deno.readFile(p.path("model.pkl"));
    // A fresh clone with DVC's cache: no data, no outs; and one file edited since `dvc add`.
    for (const path of ["data/reviews.tsv", "data/extra", "data/features", "model.pkl"]) {
      await Deno.remove(p.path(path), { recursive: true });
    }
    await p.write("data/notes.txt", "edited\n");
    await p.write("data/broken.dvc", "outs: [\n");

    const imported = await p.pivot("import-dvc");
    assertEquals(imported.code, 0, imported.stderr);
    const out = imported.stdout;
    assertMatch(
      out,
      /restored {3}data\/reviews\.tsv {2}\(from DVC's cache, for data\/reviews\.tsv\.dvc\)/,
    );
    assertMatch(out, /restored {3}data\/extra {2}\(from DVC's cache, for data\/extra\.dvc\)/);
    assertMatch(out, /tracked {4}data\/extra\.pvt, data\/reviews\.tsv\.pvt {2}\(from \.dvc files/);
    assertMatch(out, /restored {3}model\.pkl {2}\(from DVC's cache, for stage 'train'\)/);
    assertMatch(out, /restored {3}data\/features {2}\(from DVC's cache, for stage 'featurize'\)/);
    assertMatch(
      out,
      /data\/notes\.txt\.dvc: data\/notes\.txt differs from what its \.dvc file records .*'pivot track data\/notes\.txt'/,
    );
    assert(!(await p.exists("data/notes.txt.pvt")), "modified data is not tracked");
    assertMatch(out, /data\/broken\.dvc: invalid YAML: .*: not converted/);
    assertMatch(out, /recorded {3}prepare, featurize, train, evaluate@train, evaluate@test/);
    assertEquals(await Deno.readFile(p.path("data/reviews.tsv")), reviews);
    assertEquals(await Deno.readFile(p.path("model.pkl")), model);
    assertEquals(await p.read("data/extra/sub/b.txt"), "b\n");

    // The .pvt files are what `pivot track` writes: valid against the schema, pointing at
    // cache objects with the data's bytes.
    const { Ajv } = await import("ajv");
    const { PVT_SCHEMA } = await import("../../lib/schemas/mod.ts");
    const { parse } = await import("yaml");
    const valid = new Ajv().compile(PVT_SCHEMA);
    type Pvt = { path: string; hash: string; size: number; files?: number };
    const file = parse(await p.read("data/reviews.tsv.pvt")) as Pvt;
    assert(valid(file), JSON.stringify(valid.errors));
    assertEquals({ path: file.path, size: file.size }, {
      path: "reviews.tsv",
      size: reviews.length,
    });
    const object = (hash: string) => p.path(".pivot/cache/files", hash.slice(0, 2), hash.slice(2));
    assertEquals(await Deno.readFile(object(file.hash)), reviews);
    const dir = parse(await p.read("data/extra.pvt")) as Pvt;
    assert(valid(dir), JSON.stringify(valid.errors));
    assertEquals({ path: dir.path, size: dir.size, files: dir.files }, {
      path: "extra",
      size: 4,
      files: 2,
    });
    assert((await Deno.stat(object(dir.hash))).isFile, "the manifest is cached");
    // DVC's .gitignore lines are kept, not doubled.
    // (The stages' cached outs are listed there too, as for every cached out.)
    const ignoreLines = (await p.read("data/.gitignore")).split("\n");
    for (const line of ["/reviews.tsv", "/extra", "/notes.txt"]) {
      assertEquals(ignoreLines.filter((l) => l === line).length, 1, line);
    }

    const run = await p.events("repro");
    assertEquals(run.result.code, 0, run.result.stderr);
    assertEquals(TempProject.byStatus(run.events), { skipped: ALL });
  },
);

test(
  "a DVC project of only .dvc files: after import-dvc, checkout, status and verify work without a pipeline",
  LONG,
  async () => {
    await using p = await DvcProject.create();
    for (const path of ["dvc.yaml", "params.yaml", "src"]) {
      await Deno.remove(p.path(path), { recursive: true });
    }
    await p.write("data/extra/a.txt", "a\n");
    await p.addAsDvc("data/reviews.tsv", "data/extra");
    const reviews = await p.read("data/reviews.tsv");
    const imported = await p.pivot("import-dvc");
    assertEquals(imported.code, 0, imported.stderr);
    assertMatch(imported.stdout, /tracked {4}data\/extra\.pvt, data\/reviews\.tsv\.pvt/);
    assert(!(await p.exists("pivot.yaml")), "no dvc.yaml, no pipeline");
    await p.commitAll();

    // What `dvc checkout` does after a fresh clone or a `git checkout`.
    await Deno.remove(p.path("data/reviews.tsv"));
    await Deno.remove(p.path("data/extra"), { recursive: true });
    const status = await p.pivot("status");
    assertEquals(status.code, 0, status.stderr);
    assertMatch(status.stdout, /^ {2}missing {3}data\/reviews\.tsv/m);
    const checkout = await p.pivot("checkout");
    assertEquals(checkout.code, 0, checkout.stderr);
    assertEquals(checkout.stdout, "restored  data/extra\nrestored  data/reviews.tsv\n");
    assertEquals(await p.read("data/reviews.tsv"), reviews);
    assertEquals(await p.read("data/extra/a.txt"), "a\n");
    const verify = await p.pivot("verify");
    assertEquals(verify.code, 0, verify.stderr);
    assertMatch(verify.stdout, /^OK: no stages and 2 tracked paths/);
  },
);

test("import-dvc records only the stages dvc.lock still describes", LONG, async () => {
  await using p = await DvcProject.create();
  await p.reproAsDvc();
  await p.edit("params.yaml", "n_est: 8", "n_est: 10");
  const imported = await p.pivot("import-dvc");
  assertEquals(imported.code, 0, imported.stderr);
  assertMatch(
    imported.stdout,
    /will run {3}train: param 'train\.n_est' \(params\.yaml\) changed since DVC ran it/,
  );
  // evaluate's deps are the outs DVC's train made: they still match, as for `dvc status`.
  assertMatch(
    imported.stdout,
    /recorded {3}prepare, featurize, evaluate@train, evaluate@test {2}\(dvc\.lock matches/,
  );
  const run = await p.events("repro");
  assertEquals(run.result.code, 0, run.result.stderr);
  assertEquals(TempProject.byStatus(run.events).skipped, ["featurize", "prepare"]);
  assertEquals(TempProject.byStatus(run.events).ran, ["evaluate@test", "evaluate@train", "train"]);
});

test("export of a TypeScript pipeline with a matrix imports back into the same graph", async () => {
  await using p = await TempProject.create({
    "stages.ts": `export function prep({ raw }: { raw: unknown }) { return { clean: raw }; }
export function train({ data }: { data: unknown }, { params }: { params: { epochs: number } }) {
  return { model: { data, epochs: params.epochs }, score: { epochs: params.epochs } };
}
`,
    "pivot.yaml": `stages:
  prep:
    run: stages.ts#prep
    deps: { raw: data/raw.json }
    outs: { clean: build/clean.json }
  train:
    run: stages.ts#train
    deps: { data: build/clean.json }
    outs: { model: "models/\${model}.json" }
    metrics: { score: "metrics/\${model}.json" }
    params: { epochs: 1 }
    matrix:
      model:
        small: { params: { epochs: 2 } }
        large: { params: { epochs: 5 } }
`,
    "data/raw.json": "[1, 2, 3]\n",
    "params.yaml": "train@large:\n  epochs: 6\n",
  });
  const exported = await p.pivot("export", "-o", "exported/dvc.yaml");
  assertEquals(exported.code, 0, exported.stderr);
  const text = await p.read("exported/dvc.yaml");
  assertMatch(text, /cmd: pivot run train@\$\{key\}/);
  // The code a stage reaches is a dep, so DVC re-runs it when the code changes.
  assertMatch(text, /- \.\.\/stages\.ts/);
  await assertSameGraph(p, "exported/dvc.yaml");
});

/** `status --json` as name → status and reasons. */
async function statusOf(
  p: { pivot(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> },
) {
  const result = await p.pivot("status", "--json");
  assertEquals(result.code, 0, result.stderr);
  const parsed = JSON.parse(result.stdout) as {
    stages: { name: string; status: string; reasons: string[] }[];
  };
  return new Map(parsed.stages.map((s) => [s.name, { status: s.status, reasons: s.reasons }]));
}

interface Listed {
  name: string;
  deps: string[];
  outs: string[];
}

/**
 * Import the `dvc.yaml` at `rel` (in a directory of its own) in a copy of
 * the project and check that its graph is the project's: the same stages,
 * the same outs, and every dep the project's stages have (the export adds
 * the code as deps).
 */
async function assertSameGraph(
  p: {
    root: string;
    pivot(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  },
  rel: string,
) {
  const listed = await p.pivot("list", "--json");
  assertEquals(listed.code, 0, listed.stderr);
  const before = (JSON.parse(listed.stdout) as { stages: Listed[] }).stages;
  await using copy = await TempProject.create({}, { init: false });
  await copyTree(p.root, copy.root);
  // Only the exported dvc.yaml is imported (the project's own stays out of the way).
  if (rel !== "dvc.yaml") await Deno.remove(copy.path("dvc.yaml")).catch(() => {});
  const imported = await copy.pivot("import-dvc");
  assertEquals(imported.code, 0, imported.stderr);
  const dir = rel.slice(0, rel.lastIndexOf("/"));
  const after = await copy.pivot("--cwd", dir, "list", "--json");
  assertEquals(after.code, 0, after.stderr);
  const graph = (JSON.parse(after.stdout) as { stages: Listed[] }).stages;
  assertEquals(graph.map((s) => s.name).sort(), before.map((s) => s.name).sort());
  for (const stage of before) {
    const twin = graph.find((s) => s.name === stage.name)!;
    assertEquals(twin.outs.sort(), stage.outs.sort(), stage.name);
    for (const dep of stage.deps) assert(twin.deps.includes(dep), `${stage.name}: lost dep ${dep}`);
  }
}

/** Copy a project's files (not `.pivot/` or `.git/`) into `to`. */
async function copyTree(from: string, to: string): Promise<void> {
  for await (const entry of Deno.readDir(from)) {
    if (entry.name === ".pivot" || entry.name === ".git") continue;
    const source = `${from}/${entry.name}`;
    const target = `${to}/${entry.name}`;
    if (entry.isDirectory) {
      await Deno.mkdir(target, { recursive: true });
      await copyTree(source, target);
    } else if (entry.isFile) await Deno.copyFile(source, target);
  }
}
