/**
 * Sharing a project's cache through a remote, end to end with the real CLI:
 * project A pushes, B is a `git clone` of A that pulls, against a real S3
 * server (s3rver, a child process on 127.0.0.1) and a directory remote.
 */

import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { output, test } from "../_harness.ts";
import { CLI, listTree, runPivot, spawnPivot, tempDir, TempProject } from "../_project.ts";
import { FaultProxy } from "../remote/_fault_proxy.ts";
import { startS3rver } from "../remote/_s3rver.ts";

/**
 * Two stages: `split` writes a directory (one file per word), `count` reads
 * it and writes a JSON out and a metric; `count` has a param.
 */
const PIPELINE = `import { dep, loaders, metric, out, Pipeline } from "jsr:@pivot/core";
export const pipeline = new Pipeline("words");
pipeline.stage({
  name: "split",
  deps: { text: dep("text.txt", loaders.text()) },
  outs: { words: out("words/", loaders.pathOnly()) },
  run: async ({ text }, ctx) => {
    const words = text.split(/\\s+/).filter((w) => w !== "");
    for (const [i, word] of words.entries()) {
      await Deno.writeTextFile(\`\${ctx.outs.words}/\${String(i).padStart(4, "0")}.txt\`, word.repeat(50));
    }
    return {};
  },
});
pipeline.stage({
  name: "count",
  deps: { words: dep("words/", loaders.pathOnly()) },
  outs: { counts: out("counts.json", loaders.json<Record<string, number>>()), summary: metric("summary.json") },
  params: { scale: 1 },
  run: async ({ words }, { params }) => {
    const counts: Record<string, number> = {};
    for await (const entry of Deno.readDir(words)) {
      counts[entry.name] = (await Deno.readTextFile(\`\${words}/\${entry.name}\`)).length * params.scale;
    }
    return { counts, summary: { files: Object.keys(counts).length, scale: params.scale } };
  },
});
`;

const TEXT = Array.from({ length: 120 }, (_, i) => `word${i}`).join(" ") + "\n";

/** A committed project A with `remotes` in its config.yaml and `local` in config.local.yaml. */
async function projectA(remotes: string, local = ""): Promise<TempProject> {
  const a = await TempProject.create({ "pipeline.ts": PIPELINE, "text.txt": TEXT });
  await a.initGit();
  // Outs stay out of git: B gets them from the remote.
  await a.write(".gitignore", "/words/\n/counts.json\n");
  await a.write(".pivot/config.yaml", remotes);
  if (local) await a.write(".pivot/config.local.yaml", local);
  return a;
}

/** `git clone` of `a` (config.local.yaml is not in git: `local` is written again). */
async function cloneOf(a: TempProject, dir: string, local = ""): Promise<TempProject> {
  await a.git("clone", "-q", a.root, dir);
  const b = new TempProject(dir);
  if (local) await b.write(".pivot/config.local.yaml", local);
  return b;
}

async function ok(p: TempProject, ...args: string[]): Promise<string> {
  const result = await p.pivot(...args);
  assertEquals(result.code, 0, `pivot ${args.join(" ")}: ${result.stderr}`);
  return result.stdout;
}

async function json(p: TempProject, ...args: string[]): Promise<Record<string, unknown>> {
  return JSON.parse(await ok(p, ...args, "--json"));
}

/** Every file under `dir` of `p` with its content. */
async function contents(p: TempProject, ...paths: string[]): Promise<Record<string, string>> {
  const result: Record<string, string> = {};
  for (const path of paths) {
    let info;
    try {
      info = await Deno.stat(p.path(path));
    } catch {
      continue;
    }
    if (!info.isDirectory) result[path] = await p.read(path);
    else {
      for (const file of await listTree(p.path(path))) {
        result[`${path}/${file}`] = await p.read(`${path}/${file}`);
      }
    }
  }
  return result;
}

/**
 * The whole story on one remote: A runs and pushes; B clones and pulls
 * (outs byte-identical, status up to date, repro runs nothing); A runs a
 * new param value and pushes its run cache; B's repro with that value
 * restores instead of running.
 */
async function shareThrough(remotes: string, local: string): Promise<void> {
  await using a = await projectA(remotes, local);
  await using holder = await tempDir();
  await ok(a, "repro");
  await a.commitAll("A ran");

  const pushed = await json(a, "push");
  // 120 word files + their manifest + counts.json + summary.json.
  assertEquals(pushed, {
    transferred: 123,
    skipped: 0,
    failed: 0,
    bytes: pushed.bytes,
    requests: pushed.requests,
  });
  assert((pushed.bytes as number) > 120 * 300, `bytes: ${pushed.bytes}`);
  // A no-op push asks the remote nothing but the opening check: the index remembers.
  assertEquals(await json(a, "push"), {
    transferred: 0,
    skipped: 123,
    failed: 0,
    bytes: 0,
    requests: 1,
  });

  const b = await cloneOf(a, holder.path("b"), local);
  assertEquals(await contents(b, "words", "counts.json"), {}, "B starts without the outs");
  const pulled = await json(b, "pull");
  assertEquals([pulled.transferred, pulled.failed], [123, 0]);
  assertEquals(
    await contents(b, "words", "counts.json", "summary.json"),
    await contents(a, "words", "counts.json", "summary.json"),
  );
  const status = await b.status();
  assertEquals(status.stages.map((s) => [s.name, s.status]), [
    ["split", "up-to-date"],
    ["count", "up-to-date"],
  ]);
  const repro = await b.events("repro");
  assertEquals(TempProject.byStatus(repro.events), { skipped: ["count", "split"] });

  // A tries another param value on a branch and shares the run.
  await a.git("checkout", "-q", "-b", "scale3");
  await a.write("params.yaml", "count:\n  scale: 3\n");
  const ran = await a.events("repro");
  assertEquals(TempProject.byStatus(ran.events).ran, ["count"]);
  const scaled = await contents(a, "counts.json");
  const withRuns = await json(a, "push", "--run-cache");
  assertEquals(withRuns.run_cache, { transferred: 3, skipped: 0, failed: 0 });
  assertEquals(withRuns.failed, 0);

  // B has neither that branch nor that lock: the run cache is enough.
  const fetched = await json(b, "pull", "--run-cache");
  assertEquals(fetched.failed, 0);
  // B had no run cache at all: the entries of A's three runs arrive.
  assertEquals(fetched.run_cache, { transferred: 3, skipped: 0, failed: 0 });
  await b.write("params.yaml", "count:\n  scale: 3\n");
  const restored = await b.events("repro");
  assertEquals(TempProject.byStatus(restored.events), { restored: ["count"], skipped: ["split"] });
  assertEquals(await contents(b, "counts.json"), scaled);
}

test("push, clone, pull through S3 (s3rver); --run-cache restores a stage run elsewhere", {
  timeLimit: 300_000,
}, async () => {
  await using server = await startS3rver("pivot-e2e");
  await shareThrough(
    `core: { remote: origin }\nremotes:\n  origin: { url: "s3://pivot-e2e/team/project", endpoint: "${server.endpoint}" }\n`,
    "remotes:\n  origin: { access_key_id: S3RVER, secret_access_key: S3RVER }\n",
  );
});

test("push, clone, pull through a directory remote", { timeLimit: 300_000 }, async () => {
  await using share = await tempDir();
  await shareThrough(`remotes:\n  share: { url: "${share.root}" }\n`, "");
});

test("TARGETS limit a transfer to stages, outs and folders; unknown targets are one line", {
  timeLimit: 300_000,
}, async () => {
  await using share = await tempDir();
  await using a = await projectA(`remotes:\n  share: { url: "${share.root}" }\n`);
  await ok(a, "repro");
  const count = await json(a, "push", "count");
  assertEquals([count.transferred, count.skipped, count.failed], [2, 0, 0]);
  const words = await json(a, "push", "words/0001.txt");
  assertEquals([words.transferred, words.skipped], [121, 0]);
  const all = await json(a, "push", "-j", "2");
  assertEquals([all.transferred, all.skipped], [0, 123]);

  const unknown = await a.pivot("push", "nothing/here");
  assertEquals(unknown.code, 2);
  assertMatch(unknown.stderr, /^error: 'nothing\/here' is neither a stage .*\n$/);
  const badJobs = await a.pivot("push", "-j", "0");
  assertEquals(badJobs.code, 2);
  assertMatch(badJobs.stderr, /--jobs expects an integer ≥ 1, got '0'/);

  // pull checks out what its TARGETS selected, however they named it: a
  // stage, then a path inside a directory out (checkout takes neither form).
  await a.commitAll();
  await using holder = await tempDir();
  const b = await cloneOf(a, holder.path("b"));
  const byStage = await json(b, "pull", "count");
  assertEquals([byStage.transferred, byStage.failed], [2, 0]);
  assertEquals(await contents(b, "counts.json"), await contents(a, "counts.json"));
  assertEquals(await contents(b, "words"), {}, "only what was selected");
  const inner = await b.pivot("pull", "words/0001.txt");
  assertEquals(inner.code, 0, inner.stderr);
  assertMatch(inner.stdout, /^restored {2}words$/m);
  assertEquals(await contents(b, "words"), await contents(a, "words"));
});

test("an object missing from the remote fails the fetch with its path, exit 1; the rest arrive", {
  timeLimit: 300_000,
}, async () => {
  await using share = await tempDir();
  await using a = await projectA(`remotes:\n  share: { url: "${share.root}" }\n`);
  await ok(a, "repro");
  await a.commitAll();
  await ok(a, "push");
  const counts = await Deno.readTextFile(a.path("counts.json"));
  const { hashBytes } = await import("../../lib/storage/hash.ts");
  const hash = await hashBytes(counts);
  await Deno.remove(`${share.root}/files/${hash.slice(0, 2)}/${hash.slice(2)}`);

  await using holder = await tempDir();
  const b = await cloneOf(a, holder.path("b"));
  const fetched = await b.pivot("fetch", "--json");
  assertEquals(fetched.code, 1, fetched.stderr);
  assertEquals(JSON.parse(fetched.stdout).failed, 1);
  assertMatch(fetched.stderr, new RegExp(`has no object ${hash}.*\\[counts\\.json\\]`));
  assert(Object.keys(await contents(b, "words")).length === 0, "fetch does not check out");
  const pulled = await b.pivot("pull");
  assertEquals(pulled.code, 1);
  assertEquals(Object.keys(await contents(b, "words")).length, 120, "what arrived is restored");
});

test(
  "a corrupt remote object is reported with its path and enters neither the cache nor the workspace",
  {
    timeLimit: 300_000,
  },
  async () => {
    await using share = await tempDir();
    await using a = await projectA(`remotes:\n  share: { url: "${share.root}" }\n`);
    await ok(a, "repro");
    await a.commitAll();
    await ok(a, "push");
    const { hashBytes } = await import("../../lib/storage/hash.ts");
    const hash = await hashBytes(await Deno.readTextFile(a.path("counts.json")));
    await Deno.writeTextFile(`${share.root}/files/${hash.slice(0, 2)}/${hash.slice(2)}`, "{}");

    await using holder = await tempDir();
    const b = await cloneOf(a, holder.path("b"));
    const pulled = await b.pivot("pull");
    assertEquals(pulled.code, 1, pulled.stderr);
    assertMatch(pulled.stderr, new RegExp(`${hash}.* is corrupt.*\\[counts\\.json\\]`));
    assertEquals(await contents(b, "counts.json"), {}, "not in the workspace");
    const stored = (await listTree(b.path(".pivot"))).filter((f) => f.endsWith(hash.slice(2)));
    assertEquals(stored, [], "not in the cache");
    assertEquals(await contents(b, "words"), await contents(a, "words"), "the rest is restored");
  },
);

test("a push SIGKILLed mid-way leaves only whole objects, and running it again completes", {
  timeLimit: 300_000,
}, async () => {
  await using server = await startS3rver("pivot-kill-e2e");
  await using proxy = FaultProxy.start(server.port);
  const remotes =
    `remotes:\n  origin: { url: "s3://pivot-kill-e2e/p", endpoint: "${proxy.endpoint}" }\n`;
  const local = "remotes:\n  origin: { access_key_id: S3RVER, secret_access_key: S3RVER }\n";
  await using a = await projectA(remotes, local);
  await ok(a, "repro");
  await a.commitAll();
  // Uploads from the 40th on never get an answer: the kill lands mid-push.
  let puts = 0;
  proxy.inject("stall", 10_000, (method) => method === "PUT" && ++puts >= 40);
  const child = spawnPivot(a.root, ["push"]);
  const deadline = Date.now() + 60_000;
  while (!proxy.requests.some((r) => r.fault === "stall")) {
    assert(Date.now() < deadline, "the push reached the stalled uploads");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  child.kill("SIGKILL");
  await child.status;
  await child.stdout.cancel();
  await child.stderr.cancel();
  proxy.rules.length = 0;

  const again = await json(a, "push");
  assertEquals(again.failed, 0);
  assert(
    (again.transferred as number) > 0 && (again.transferred as number) < 123,
    `${again.transferred}`,
  );
  assertEquals((again.transferred as number) + (again.skipped as number), 123);

  await using holder = await tempDir();
  const b = await cloneOf(a, holder.path("b"), local);
  await ok(b, "pull");
  assertEquals(
    await contents(b, "words", "counts.json"),
    await contents(a, "words", "counts.json"),
  );
});

test(
  "bad credentials, a missing bucket, an unreachable endpoint: one line naming the remote, exit 2",
  {
    timeLimit: 300_000,
  },
  async () => {
    await using server = await startS3rver("pivot-faults");
    const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const deadPort = (closed.addr as Deno.NetAddr).port;
    closed.close();
    await using a = await TempProject.create({ "pipeline.ts": PIPELINE, "text.txt": TEXT });
    await ok(a, "repro");
    const cases: [string, string, RegExp][] = [
      [
        `url: "s3://pivot-faults/p", endpoint: "${server.endpoint}", access_key_id: NOBODY, secret_access_key: x`,
        "push",
        /remote 'origin'.*(access key|credentials)/i,
      ],
      [
        `url: "s3://no-such-bucket/p", endpoint: "${server.endpoint}", access_key_id: S3RVER, secret_access_key: S3RVER`,
        "fetch",
        /remote 'origin'.*no-such-bucket/,
      ],
      [
        `url: "s3://pivot-faults/p", endpoint: "http://127.0.0.1:${deadPort}", access_key_id: S3RVER, secret_access_key: S3RVER`,
        "pull",
        /cannot reach .*remote 'origin'/,
      ],
      [`url: "${a.path("not-a-dir")}"`, "push", /remote 'origin'.*does not exist/],
    ];
    for (const [remote, command, message] of cases) {
      await a.write(".pivot/config.local.yaml", `remotes:\n  origin: { ${remote} }\n`);
      const result = await a.pivot(command);
      assertEquals(result.code, 2, `${command} with ${remote}: ${result.stderr}`);
      const lines = result.stderr.trimEnd().split("\n");
      assertEquals(lines.length, 1, result.stderr);
      assertMatch(lines[0]!, /^error: /);
      assertMatch(lines[0]!, message);
    }
  },
);

test("a remote that cannot be chosen is one line: none configured, several without a default", async () => {
  await using a = await TempProject.create({ "pipeline.ts": PIPELINE, "text.txt": TEXT });
  const none = await a.pivot("push");
  assertEquals(none.code, 2);
  assertMatch(none.stderr, /^error: no remote is configured: add one with 'pivot remote add/);
  await a.write(".pivot/config.yaml", "remotes:\n  a: { url: /tmp/a }\n  b: { url: /tmp/b }\n");
  const two = await a.pivot("fetch");
  assertEquals(two.code, 2);
  assertMatch(two.stderr, /^error: 2 remotes \(a, b\) and no default: pass -r NAME/);
  const wrong = await runPivot(a.root, ["pull", "-r", "c"]);
  assertEquals(wrong.code, 2);
  assertMatch(wrong.stderr, /^error: no remote named 'c' \(remotes: a, b\)/);
});

test("status --remote says what the remote lacks; --check fails on it", {
  timeLimit: 300_000,
}, async () => {
  await using share = await tempDir();
  await using a = await projectA(`remotes:\n  share: { url: "${share.root}" }\n`);
  await ok(a, "repro");
  const before = JSON.parse(await ok(a, "status", "--remote", "--json")).remote;
  assertEquals(before.remote, "share");
  assertEquals(before.checked, 3);
  assertEquals(
    before.missing.map((m: { path: string; stage: string; local: boolean }) => [
      m.path,
      m.stage,
      m.local,
    ]),
    [["counts.json", "count", true], ["summary.json", "count", true], ["words", "split", true]],
  );
  assertEquals(before.missing[2].files, { missing: 120, total: 120 });
  const check = await a.pivot("status", "-c", "--check");
  assertEquals(check.code, 1);
  assertMatch(check.stdout, /^remote 'share': lacks 3 of 3 /m);
  assertMatch(check.stdout, /^ {2}words +stage split; 120 of 120 files missing; push uploads it$/m);

  await ok(a, "push", "count");
  const onlyCount = JSON.parse(await ok(a, "status", "count", "-r", "share", "--json")).remote;
  assertEquals(onlyCount.missing, []);
  await ok(a, "push");
  assertEquals((await a.pivot("status", "-c", "--check")).code, 0);
  assertMatch(await ok(a, "status", "-c"), /^remote 'share': has everything \(3 /m);
});

test("verify --remote: restorable means on the remote; a fresh clone passes once A pushed", {
  timeLimit: 300_000,
}, async () => {
  await using share = await tempDir();
  await using holder = await tempDir();
  await using a = await projectA(`remotes:\n  share: { url: "${share.root}" }\n`);
  await ok(a, "repro");
  await a.commitAll("A ran");
  // Locally everything is restorable; on the remote nothing is yet.
  assertEquals((await a.pivot("verify")).code, 0);
  const before = await a.pivot("verify", "--remote", "--json");
  assertEquals(before.code, 1);
  const report = JSON.parse(before.stdout);
  assertEquals(report.ok, false);
  assertEquals(
    report.problems.map((p: { stage: string; path: string }) => [p.stage, p.path]),
    [["count", "counts.json"], ["count", "summary.json"], ["split", "words"]],
  );
  assertMatch(
    report.problems[2].problem,
    /not on remote 'share' \(120 of its 120 files\); 'pivot push' uploads it/,
  );
  await ok(a, "push", "split");
  const partly = await a.pivot("verify", "-r", "share");
  assertEquals(partly.code, 1);
  assertMatch(partly.stdout, /^stage 'count', counts\.json: not on remote 'share'/m);
  assert(!partly.stdout.includes("words"), partly.stdout);
  await ok(a, "push");
  assertMatch(await ok(a, "verify", "--remote"), /everything restorable from the remote/);

  // B has an empty cache and no outs: not restorable locally, restorable from the remote.
  const b = await cloneOf(a, holder.path("b"));
  assertEquals((await b.pivot("verify")).code, 1);
  assertMatch(await ok(b, "verify", "--remote"), /^OK: 2 stages up to date/m);
  // A stage whose code changed still fails, remote or not.
  await b.write("text.txt", TEXT + "more\n");
  const stale = await b.pivot("verify", "--remote");
  assertEquals(stale.code, 1);
  assertMatch(stale.stdout, /^stage 'split': not up to date: deps changed \(text\.txt\)/m);
});

test("progress: a status line on a terminal, only the final line in a pipe", {
  timeLimit: 300_000,
}, async () => {
  await using share = await tempDir();
  await using a = await projectA(`remotes:\n  share: { url: "${share.root}" }\n`);
  await ok(a, "repro");
  // util-linux's script runs the push on a pseudo-terminal (colours allowed).
  const command = `env -u NO_COLOR ${Deno.execPath()} run -A ${CLI} push`;
  const terminal = await output("script", {
    args: ["-qec", command, "/dev/null"],
    cwd: a.root,
    env: { TERM: "xterm" },
  });
  const screen = new TextDecoder().decode(terminal.stdout);
  assertEquals(terminal.code, 0, screen);
  // A status line is drawn (the first one at the start of the screen, any
  // later one after the escape that clears the line: how many depends on how
  // long the push takes), and the final line clears it in place.
  // deno-lint-ignore no-control-regex
  assertMatch(screen, /(^|\r\x1b\[2K)push: \d+\/123 objects, /, "a status line");
  assertMatch(
    screen,
    // deno-lint-ignore no-control-regex
    /\r\x1b\[2Kpush: 123 transferred, 0 skipped, 0 failed \(/,
    "redrawn in place",
  );

  await Deno.remove(share.path("files"), { recursive: true });
  await a.closeState();
  await Deno.remove(a.path(".pivot/state"), { recursive: true });
  const piped = await a.pivot("push");
  assertEquals(piped.code, 0, piped.stderr);
  assertEquals(piped.stderr, "");
  assertMatch(piped.stdout, /^push: 123 transferred, 0 skipped, 0 failed \([^)]*\)\n$/);
});

/** One stage writing a 40 MiB file (downloaded in ranges) and a small one (kept in memory). */
const BIG_PIPELINE = `import { loaders, out, Pipeline } from "jsr:@pivot/core";
export const pipeline = new Pipeline("big");
pipeline.stage({
  name: "big",
  outs: { data: out("big.bin", loaders.pathOnly()), note: out("note.txt", loaders.pathOnly()) },
  run: async (_deps, ctx) => {
    await Deno.writeTextFile(ctx.outs.note, "a small out\\n");
    const block = new Uint8Array(1 << 20);
    using file = await Deno.open(ctx.outs.data, { write: true, create: true, truncate: true });
    for (let i = 0; i < 40; i++) {
      block.fill(i);
      new DataView(block.buffer).setUint32(0, i * 7919);
      for (let done = 0; done < block.length;) done += await file.write(block.subarray(done));
    }
    return {};
  },
});
`;

const OUTS = { "big.bin": 40 << 20, "note.txt": 12 } as const;

test(
  "pull by each checkout mode: outs identical and independent of the cache; copies made for checkout and not taken are removed",
  {
    timeLimit: 300_000,
  },
  async () => {
    await using server = await startS3rver("pivot-big");
    const local = "remotes:\n  origin: { access_key_id: S3RVER, secret_access_key: S3RVER }\n";
    await using a = await TempProject.create({ "pipeline.ts": BIG_PIPELINE });
    await a.initGit();
    await a.write(".gitignore", "/big.bin\n/note.txt\n");
    await a.write(
      ".pivot/config.yaml",
      `core: { remote: origin }\nremotes:\n  origin: { url: "s3://pivot-big/p", endpoint: "${server.endpoint}" }\n`,
    );
    await a.write(".pivot/config.local.yaml", local);
    await ok(a, "repro");
    await a.commitAll("A ran");
    assertEquals((await json(a, "push")).transferred, 2);
    const original = await Deno.readFile(a.path("big.bin"));
    await using holder = await tempDir();

    for (const mode of ["reflink", "copy", "hardlink"]) {
      const b = await cloneOf(a, holder.path(`b-${mode}`), local);
      await b.write(
        ".pivot/config.yaml",
        (await b.read(".pivot/config.yaml")) + `cache: { type: ${mode} }\n`,
      );
      assertEquals((await json(b, "pull")).transferred, 2, mode);
      assertEquals(await Deno.readFile(b.path("big.bin")), original, mode);
      assertEquals(await b.read("note.txt"), "a small out\n", mode);
      const lock = await b.read(".pivot/stages/big.lock");
      for (const [path, size] of Object.entries(OUTS)) {
        const hash = new RegExp(`hash: ([0-9a-f]{16})\\n\\s+kind: out\\n\\s+path: ${path}`).exec(
          lock,
        )![1]!;
        const object = b.path(`.pivot/cache/files/${hash.slice(0, 2)}/${hash.slice(2)}`);
        const placed = await Deno.stat(b.path(path));
        const cached = await Deno.stat(object);
        if (mode === "hardlink") assertEquals(placed.ino, cached.ino, `${mode}: ${path}`);
        else {
          assert(placed.ino !== cached.ino, `${mode}: ${path} is not the cache object`);
          assertEquals(placed.mode! & 0o777, 0o644, `${mode}: ${path}`);
          assertEquals(cached.mode! & 0o777, 0o444, `${mode}: ${path}`);
          // Editing the workspace copy leaves the cache alone.
          await Deno.writeTextFile(b.path(path), "edited");
          assertEquals((await Deno.stat(object)).size, size, `${mode}: ${path}`);
        }
      }
      assertEquals(await listTree(b.path(".pivot/cache/tmp")).catch(() => []), [], mode);
    }

    // The outs already in the workspace (copied by hand), only the cache
    // missing: checkout keeps them, and the copies made for it are removed.
    const c = await cloneOf(a, holder.path("c"), local);
    for (const path of Object.keys(OUTS)) await Deno.copyFile(a.path(path), c.path(path));
    assertEquals((await json(c, "pull")).transferred, 2);
    assertEquals(await listTree(c.path(".pivot/cache/tmp")).catch(() => []), []);
    const status = await c.status();
    assertEquals(status.stages.map((s) => [s.name, s.status]), [["big", "up-to-date"]]);
  },
);
