import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { CLI, REPO, TempProject } from "./_project.ts";

const PIPELINE = `import { dep, loaders, out, Pipeline } from "jsr:@pivot/core";
export const pipeline = new Pipeline("doctor");
pipeline.stage({
  name: "copy",
  deps: { d: dep("data.txt", loaders.text()) },
  outs: { o: out("out.txt", loaders.text()) },
  run: ({ d }) => ({ o: d }),
});
`;

Deno.test("doctor --json: versions, launch, project, config, cache, remotes and state", async () => {
  const project = await TempProject.create({ "pipeline.ts": PIPELINE, "data.txt": "x" });
  const share = await Deno.makeTempDir();
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
      JSON.parse(await Deno.readTextFile(`${REPO}deno.json`)).version,
    );
    assertEquals(report.deno.version, Deno.version.deno);
    assertEquals(report.launch, { kind: "checkout", detail: REPO.replace(/\/$/, "") });
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
    assertEquals(remotes.origin.reachable.status, "unknown");
    assert(report.state.bytes > 0, "the state store has content after a run");

    const text = await project.pivot("doctor");
    for (const label of ["pivot:", "deno:", "launched:", "project:", "reflinks:", "state store:"]) {
      assertMatch(text.stdout, new RegExp(`^${label}`, "m"));
    }
    assertMatch(text.stdout, /^remote: +share \(default\): .* yes: .* is writable$/m);
  } finally {
    await project.dispose();
    await Deno.remove(share, { recursive: true });
  }
});

Deno.test("doctor reports a broken config instead of failing", async () => {
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

Deno.test("doctor outside a project says so and succeeds", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", CLI, "doctor", "--json"],
      cwd: dir,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assertEquals(output.code, 0);
    const report = JSON.parse(new TextDecoder().decode(output.stdout));
    assertEquals([report.project, report.remotes, report.state], [null, [], null]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a pivot installed from a checkout with deno install runs, and doctor says so", async () => {
  const project = await TempProject.create({ "pipeline.ts": PIPELINE, "data.txt": "x" });
  const root = await Deno.makeTempDir();
  try {
    const install = await new Deno.Command(Deno.execPath(), {
      args: ["install", "-g", "-A", "-n", "pivot", "--root", root, CLI],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assertEquals(install.code, 0, new TextDecoder().decode(install.stderr));
    const shim = `${root}/bin/pivot`;
    const run = async (...args: string[]) => {
      const output = await new Deno.Command(shim, {
        args,
        cwd: project.root,
        env: { PATH: `${Deno.execPath().replace(/\/[^/]+$/, "")}:${Deno.env.get("PATH")}` },
        stdout: "piped",
        stderr: "piped",
      }).output();
      return { code: output.code, stdout: new TextDecoder().decode(output.stdout) };
    };
    assertMatch((await run("repro")).stdout, /1 ran/);
    const report = JSON.parse((await run("doctor", "--json")).stdout);
    assertEquals(report.launch.kind, "shim");
    assertEquals(report.launch.detail, `${shim} (${REPO.replace(/\/$/, "")})`);
  } finally {
    await project.dispose();
    await Deno.remove(root, { recursive: true });
  }
});
