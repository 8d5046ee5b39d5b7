import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { output, test } from "../_harness.ts";
import { CLI, REPO, runPivot, tempDir, TempProject } from "../_project.ts";

const PIPELINE = `import { dep, loaders, out, Pipeline } from "jsr:@pivot/core";
export const pipeline = new Pipeline("doctor");
pipeline.stage({
  name: "copy",
  deps: { d: dep("data.txt", loaders.text()) },
  outs: { o: out("out.txt", loaders.text()) },
  run: ({ d }) => ({ o: d }),
});
`;

test("doctor --json: versions, launch, project, config, cache, remotes and state", async () => {
  const project = await TempProject.create({ "pipeline.ts": PIPELINE, "data.txt": "x" });
  await using shareDir = await tempDir();
  const share = shareDir.root;
  try {
    await project.write(
      ".pivot/config.local.yaml",
      `core: { remote: share }
remotes:
  share: { url: ${JSON.stringify(share)} }
  gone: { url: /nonexistent/pivot-remote }
  origin: { url: "s3://bucket/prefix", endpoint: "http://127.0.0.1:9" }
`,
    );
    assertEquals((await project.pivot("repro")).code, 0);
    const result = await project.pivot("doctor", "--json");
    assertEquals(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout);
    assertEquals(
      report.pivot.version,
      JSON.parse(await Deno.readTextFile(`${REPO}/deno.json`)).version,
    );
    assertEquals(report.deno.version, Deno.version.deno);
    assertEquals(report.launch, { kind: "checkout", detail: REPO });
    assertEquals(report.project, {
      root: project.root,
      pipeline: "pipeline.ts",
      denoConfig: project.path("deno.json"),
    });
    assertEquals(report.config, [
      { path: ".pivot/config.yaml", present: true },
      { path: ".pivot/config.local.yaml", present: true },
    ]);
    assertEquals(report.cache.dir, ".pivot/cache");
    assert(["ok", "failed"].includes(report.cache.reflink.status), report.cache.reflink.detail);
    const remotes = Object.fromEntries(
      report.remotes.map((r: { name: string }) => [r.name, r]),
    );
    assertEquals(remotes.share.isDefault, true);
    assertEquals(remotes.share.source, ".pivot/config.local.yaml");
    assertEquals(remotes.share.reachable.status, "ok");
    assertEquals(remotes.gone.reachable.status, "failed");
    assertMatch(remotes.gone.reachable.detail, /is not a directory/);
    // Nothing listens on port 9: failed, within the probe's bounded time.
    assertEquals(remotes.origin.reachable.status, "failed");
    assert(report.state.bytes > 0, "the state store has content after a run");

    const text = await project.pivot("doctor");
    for (const label of ["pivot:", "deno:", "launched:", "project:", "reflinks:", "state store:"]) {
      assertMatch(text.stdout, new RegExp(`^${label}`, "m"));
    }
    assertMatch(text.stdout, /^remote: +share \(default\): .* yes: .* is writable$/m);
  } finally {
    await project.dispose();
  }
});

test("doctor reports a broken config instead of failing", async () => {
  const project = await TempProject.create({ "pipeline.ts": PIPELINE, "data.txt": "x" });
  try {
    await project.write(".pivot/config.yaml", "cache: [unclosed\n");
    const result = await project.pivot("doctor");
    assertEquals(result.code, 0, result.stderr);
    assertMatch(result.stdout, /^config: +\.pivot\/config\.yaml \(invalid: not valid YAML/m);
  } finally {
    await project.dispose();
  }
});

test("doctor outside a project says so and succeeds", async () => {
  await using dir = await tempDir();
  const result = await runPivot(dir.root, ["doctor", "--json"]);
  assertEquals(result.code, 0, result.stderr);
  const report = JSON.parse(result.stdout);
  assertEquals([report.project, report.remotes, report.state], [null, [], null]);
});

test("a pivot installed from a checkout with deno install runs, and doctor says so", async () => {
  const project = await TempProject.create({ "pipeline.ts": PIPELINE, "data.txt": "x" });
  await using rootDir = await tempDir();
  const root = rootDir.root;
  try {
    const install = await output(Deno.execPath(), {
      args: ["install", "-g", "-A", "-n", "pivot", "--root", root, CLI],
    });
    assertEquals(install.code, 0, new TextDecoder().decode(install.stderr));
    const shim = `${root}/bin/pivot`;
    const run = async (...args: string[]) => {
      const result = await output(shim, {
        args,
        cwd: project.root,
        env: { PATH: `${Deno.execPath().replace(/\/[^/]+$/, "")}:${Deno.env.get("PATH")}` },
      });
      return { code: result.code, stdout: new TextDecoder().decode(result.stdout) };
    };
    assertMatch((await run("repro")).stdout, /1 ran/);
    const report = JSON.parse((await run("doctor", "--json")).stdout);
    assertEquals(report.launch.kind, "shim");
    assertEquals(report.launch.detail, `${shim} (${REPO})`);
  } finally {
    await project.dispose();
  }
});
