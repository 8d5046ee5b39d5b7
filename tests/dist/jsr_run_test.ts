/**
 * Pivot as users install it from JSR (SPEC §13): `deno run -A
 * jsr:@pivot/cli`, `deno install -g`, and what the release publishes. One
 * registry for the file, fed by `.github/scripts/publish-jsr.sh`, the
 * script `release.yml` runs; every user starts with an empty `DENO_DIR`.
 */

import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { test } from "../_harness.ts";
import { CONFIG_SCHEMA } from "../../lib/schemas/mod.ts";
import { VERSION } from "../../lib/version.ts";
import { ok, publishPivot, REPO, run, stagesByStatus } from "./_published.ts";
import { UiProcess } from "../ui/_ui.ts";

const PIPELINE = `import { dep, loaders, metric, out, Pipeline } from "jsr:@pivot/core";
import { words } from "./lib/text.ts";

export const pipeline = new Pipeline("reviews");

type Row = { id: string; text: string };

pipeline.stage({
  name: "clean",
  deps: { raw: dep("data/reviews.csv", loaders.csv<Row>()) },
  outs: { clean: out("build/clean.json", loaders.json<Row[]>()) },
  run: ({ raw }) => ({ clean: raw.filter((row) => row.text !== "") }),
});

pipeline.stage({
  name: "count",
  deps: { rows: dep("build/clean.json", loaders.json<Row[]>()) },
  outs: { stats: metric("build/stats.json") },
  run: ({ rows }) => ({ stats: { rows: rows.length, words: rows.map((r) => words(r.text)).flat().length } }),
});
`;

const TEXT = `export function words(text: string): string[] {
  return text.split(/\\s+/).filter((w) => w !== "");
}
`;

const DATA = "id,text\n1,good value\n2,\n3,would buy again\n";

const FILES = { "pipeline.ts": PIPELINE, "lib/text.ts": TEXT, "data/reviews.csv": DATA };

// Publishing (a type-check on a cold cache) and each new user's first run
// (an empty DENO_DIR) take a while on a loaded machine: a longer limit for the
// test's own part; its steps each have theirs.
test("Pivot from a JSR registry on loopback", { timeLimit: 300_000 }, async (t) => {
  // Published once for the file, with status polling as on jsr.io.
  await using pivot = await publishPivot({ poll: true });
  await t.step(
    "jsr: a project with only pipeline.ts and data: init, repro, then nothing to run",
    async () => {
      const user = await pivot.newUser();
      const dir = await pivot.project(FILES);
      const init = ok(await user.pivot(dir, "init"), "init");
      assertMatch(init.stdout, /Initialised \.pivot\//);
      // Pivot runs from JSR: no import map is needed, so none is written.
      assert(!(await exists(join(dir, "deno.json"))), "init wrote a deno.json");
      const first = ok(await user.pivot(dir, "repro", "--json"), "repro");
      assertEquals(stagesByStatus(first.stdout), { ran: ["clean", "count"] });
      assertEquals(JSON.parse(await Deno.readTextFile(join(dir, "build/stats.json"))), {
        rows: 2,
        words: 5,
      });
      const second = ok(await user.pivot(dir, "repro", "--json"), "second repro");
      assertEquals(stagesByStatus(second.stdout), { skipped: ["clean", "count"] });
      const doctor = JSON.parse(ok(await user.pivot(dir, "doctor", "--json"), "doctor").stdout);
      assertEquals(doctor.launch, { kind: "jsr", detail: `jsr:@pivot/core@${VERSION}` });
      assertEquals(doctor.jsr, { url: pivot.registry.url, fromEnv: true });
      // The schema URL init wrote resolves in the registry, to the schema.
      const url = ok(await user.pivot(dir, "schema", "config", "--url"), "schema --url").stdout
        .trim();
      assertEquals(
        (await Deno.readTextFile(join(dir, ".pivot/config.yaml"))).split("\n")[0],
        `# yaml-language-server: $schema=${url}`,
      );
      assertEquals(await (await fetch(url)).json(), CONFIG_SCHEMA);
    },
  );

  await t.step(
    "jsr: pivot ui serves its page, script and stylesheet from the published package",
    async () => {
      const user = await pivot.newUser();
      const dir = await pivot.project(FILES);
      ok(await user.pivot(dir, "init"), "init");
      // A first run from an empty DENO_DIR downloads Pivot: a generous wait for the URL.
      const ui = await UiProcess.attach(user.spawnPivot(dir, "ui", "--no-open"), 120_000);
      try {
        const page = await ui.fetch("/");
        assertEquals(page.status, 200);
        const html = await page.text();
        for (
          const [pattern, head] of [
            [/src="(\/assets\/page\.js\?v=\w+)"/, /^\/\/ lib\/ui\/page\/main\.tsx with preact@/],
            [/href="(\/assets\/page\.css\?v=\w+)"/, /^\/\* The Pivot web UI/],
          ] as const
        ) {
          const asset = await ui.fetch(pattern.exec(html)![1]);
          assertEquals(asset.status, 200);
          assertMatch(await asset.text(), head);
        }
        const snapshot = await ui.json<{ project: { name: string }; stages: { name: string }[] }>(
          "/api/snapshot",
        );
        assertEquals(snapshot.project.name, "reviews");
        assertEquals(snapshot.stages.map((s) => s.name), ["clean", "count"]);
        // The layout worker loads dagre from the published package too.
        const { layout } = await ui.json<{ layout: { nodes: { name: string }[] } }>(
          "/api/layout?direction=TB",
        );
        assertEquals(layout.nodes.map((n) => n.name).sort(), ["clean", "count"]);
      } finally {
        await ui.stop();
      }
    },
  );

  await t.step("jsr: a project whose deno.json maps npm packages", async () => {
    const user = await pivot.newUser();
    const dir = await pivot.project({
      ...FILES,
      "deno.json": JSON.stringify({ imports: { "is-number": "npm:is-number@7.0.0" } }, null, 2),
      "lib/text.ts": `import isNumber from "is-number";\n` +
        TEXT.replace(`(w) => w !== ""`, `(w) => w !== "" && !isNumber(w)`),
    });
    ok(await user.pivot(dir, "init"), "init");
    const first = ok(await user.pivot(dir, "repro", "--json"), "repro");
    assertEquals(stagesByStatus(first.stdout), { ran: ["clean", "count"] });
    const second = ok(await user.pivot(dir, "repro", "--json"), "second repro");
    assertEquals(stagesByStatus(second.stdout), { skipped: ["clean", "count"] });
    // The user's lock file pins the user's npm package.
    assertMatch(await Deno.readTextFile(join(dir, "deno.lock")), /"is-number@7\.0\.0"/);
  });

  await t.step("jsr: deno install -g makes a `pivot` command that runs the project", async () => {
    const user = await pivot.newUser();
    const root = await pivot.project({});
    ok(
      await user.deno(
        root,
        "install",
        "-g",
        "-A",
        "-n",
        "pivot",
        "--root",
        root,
        "jsr:@pivot/cli",
      ),
      "deno install",
    );
    const dir = await pivot.project(FILES);
    const shim = join(root, "bin", "pivot");
    const shimRun = (...args: string[]) => run(shim, args, { cwd: dir, env: user.env });
    assertMatch(ok(await shimRun("--version"), "pivot --version").stdout, /^pivot \d+\.\d+\.\d+/);
    ok(await shimRun("init"), "pivot init");
    assertEquals(stagesByStatus(ok(await shimRun("repro", "--json"), "repro").stdout), {
      ran: ["clean", "count"],
    });
    assertEquals(stagesByStatus(ok(await shimRun("repro", "--json"), "repro").stdout), {
      skipped: ["clean", "count"],
    });
    const doctor = JSON.parse(ok(await shimRun("doctor", "--json"), "doctor").stdout);
    assertEquals(doctor.launch, { kind: "shim", detail: `${shim} (jsr:@pivot/core@${VERSION})` });
  });

  await t.step(
    "release: the workflow's publish step publishes both packages, as deno publish builds them",
    async () => {
      // The workflow's JSR job runs the script the fixture published with.
      const workflow = parseYaml(
        await Deno.readTextFile(join(REPO, ".github/workflows/release.yml")),
      ) as { jobs: Record<string, { steps: { run?: string }[] }> };
      const runs = Object.values(workflow.jobs).flatMap((job) => job.steps.map((s) => s.run ?? ""));
      assert(
        runs.some((run) => run.trim() === ".github/scripts/publish-jsr.sh"),
        "release.yml does not run .github/scripts/publish-jsr.sh",
      );

      const url = pivot.registry.url;
      const config = JSON.parse(await Deno.readTextFile(join(REPO, "deno.json")));
      const version: string = config.version;
      const excluded: string[] = config.publish?.exclude ?? [];
      for (const name of ["@pivot/core", "@pivot/cli"]) {
        const meta = await (await fetch(`${url}${name}/meta.json`)).json();
        assertEquals(meta.latest, version, `${name}'s latest version`);
      }

      // The core: exactly publish.include's files.
      const core = await (await fetch(`${url}@pivot/core/${version}_meta.json`)).json();
      const expected = [
        "/LICENSE",
        "/README.md",
        "/cli.ts",
        "/deno.json",
        "/mod.ts",
        ...(await listFiles(join(REPO, "lib"))).map((path) => `/lib/${path}`)
          // Less publish.exclude (the UI page's sources: the package carries their bundle).
          .filter((path) => !excluded.some((prefix) => path.startsWith(`/${prefix}`))),
      ].sort();
      assertEquals(Object.keys(core.manifest).sort(), expected);
      assertEquals(core.exports, { ".": "./mod.ts", "./cli": "./cli.ts" });

      // Served files match their manifest checksums, and bare specifiers were
      // rewritten: the CLI imports the core by version, the core its npm packages.
      for (const path of ["/cli.ts", "/lib/cli/main.ts"]) {
        const bytes = new Uint8Array(
          await (await fetch(`${url}@pivot/core/${version}${path}`))
            .arrayBuffer(),
        );
        assertEquals(`sha256-${await sha256(bytes)}`, core.manifest[path].checksum, path);
      }
      const cli = await (await fetch(`${url}@pivot/cli/${version}_meta.json`)).json();
      assertEquals(Object.keys(cli.manifest).sort(), ["/deno.json", "/main.ts"]);
      const main = await (await fetch(`${url}@pivot/cli/${version}/main.ts`)).text();
      assertMatch(
        main,
        new RegExp(`from "jsr:@pivot/core@\\^${version.replaceAll(".", "\\.")}/cli"`),
      );
      const lockFile = await (await fetch(`${url}@pivot/core/${version}/lib/storage/lock_file.ts`))
        .text();
      assertMatch(lockFile, /"npm:yaml@\d/);
      assert(
        !/from "yaml"|import\("yaml"\)/.test(lockFile),
        "a bare 'yaml' import was published",
      );
      assertMatch(pivot.publishOutput, /Successfully published @pivot\/core@/);
      assertMatch(pivot.publishOutput, /Successfully published @pivot\/cli@/);
    },
  );
});

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

async function listFiles(dir: string, prefix = ""): Promise<string[]> {
  const result: string[] = [];
  for await (const entry of Deno.readDir(join(dir, prefix))) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory) result.push(...await listFiles(dir, rel));
    else result.push(rel);
  }
  return result;
}

async function sha256(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes.slice()));
  return [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
}
