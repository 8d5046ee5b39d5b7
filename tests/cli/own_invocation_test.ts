/**
 * The launcher runs Pivot in its own process when that process was started
 * as the launcher's child would be (`lib/cli/own_invocation.ts`), and
 * re-executes otherwise.
 */

import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { parseDenoInvocation, runsAsChild } from "../../lib/cli/own_invocation.ts";
import { PIVOT_PACKAGES } from "../../lib/cli/user_lock.ts";
import { assertEquals } from "../_assert.ts";
import { spawn, test } from "../_harness.ts";
import { CLI, tempDir, TempProject } from "../_project.ts";

const CHILD_FLAGS = ["--unstable-kv", "--unstable-worker-options"];

test("parseDenoInvocation reads the flags the launcher's child gets, and nothing else", () => {
  const main = "file:///opt/pivot/cli.ts";
  const parse = (argv: string[], args: string[] = []) =>
    parseDenoInvocation(["deno", ...argv, ...args], args, "/p", main);
  assertEquals(
    parse(["run", "-A", ...CHILD_FLAGS, "--config", "deno.json", "/opt/pivot/cli.ts"], ["repro"]),
    { config: "/p/deno.json", allowAll: true, unstable: ["kv", "worker-options"] },
  );
  // `deno FILE` runs it too; --config=FILE; a script path relative to the working directory.
  assertEquals(
    parseDenoInvocation(
      ["deno", "--allow-all", "--config=../q/deno.jsonc", "../opt/pivot/cli.ts"],
      [],
      "/x",
      main,
    ),
    { config: "/q/deno.jsonc", allowAll: true, unstable: [] },
  );
  assertEquals(parse([main]), { config: undefined, allowAll: false, unstable: [] });
  assertEquals(parse(["run", "-c", "a/deno.json", main], ["-v"]), {
    config: "/p/a/deno.json",
    allowAll: false,
    unstable: [],
  });
  assertEquals(parse(["run", "-A", "--unstable-lazy-dynamic-imports", main]), {
    config: undefined,
    allowAll: true,
    unstable: [],
    lazy: true,
  });
  // Script arguments that look like flags are the script's, not Deno's.
  assertEquals(parse(["run", "-A", main], ["--config", "x", "--no-lock"])?.config, undefined);
  // Any other flag, another script, another subcommand: not sure, undefined.
  for (
    const argv of [
      ["run", "-A", "--no-lock", main],
      ["run", "-A", "--import-map", "map.json", main],
      ["run", "-A", "--unstable", main],
      ["run", "-A", "--v8-flags=--max-old-space-size=100", main],
      ["run", "-A", "/opt/other/cli.ts"],
      ["run", "-A", "opt/pivot/cli.ts"],
      ["test", "-A", main],
      ["run", "-A", "--config", main],
    ]
  ) {
    assertEquals(parse(argv), undefined, argv.join(" "));
  }
  // The arguments must be the process's own.
  assertEquals(parseDenoInvocation(["deno", "run", main, "a"], ["b"], "/p", main), undefined);
});

test("runsAsChild: the user's config, every permission, the child's unstable features, no map", async () => {
  await using dir = await tempDir();
  const project = dir.path("project");
  await Deno.mkdir(join(project, "tools"), { recursive: true });
  const config = join(project, "deno.json");
  await Deno.writeTextFile(config, "{}\n");
  const mainUrl = "file:///opt/pivot/cli.ts";
  const all = ["kv", "worker-options"];
  const invocation = (
    over: Partial<{ config: string; allowAll: boolean; unstable: string[]; lazy: boolean }>,
  ) => ({
    config: config as string | undefined,
    allowAll: true,
    unstable: all,
    ...over,
  });
  assertEquals(runsAsChild(invocation({}), mainUrl, config, undefined), true);
  assertEquals(runsAsChild(invocation({ allowAll: false }), mainUrl, config, undefined), false);
  assertEquals(runsAsChild(invocation({ unstable: ["kv"] }), mainUrl, config, undefined), false);
  assertEquals(runsAsChild(invocation({}), mainUrl, config, "data:application/json,{}"), false);
  assertEquals(
    runsAsChild(invocation({ config: dir.path("other.json") }), mainUrl, config, undefined),
    false,
  );
  // The config's own `unstable` list counts as the flags do.
  await Deno.writeTextFile(config, '// comment\n{ "unstable": ["kv", "worker-options"] }\n');
  assertEquals(runsAsChild(invocation({ unstable: [] }), mainUrl, config, undefined), true);

  // Lazy imports, as the child has them only once the lock records Pivot's packages.
  const lazy = invocation({ unstable: [], lazy: true });
  assertEquals(runsAsChild(lazy, mainUrl, config, undefined), false, "no lock yet");
  const specifiers = Object.fromEntries(PIVOT_PACKAGES.map((s) => [s, "1"]));
  await Deno.writeTextFile(join(project, "deno.lock"), JSON.stringify({ specifiers }));
  assertEquals(runsAsChild(lazy, mainUrl, config, undefined), true);
  await Deno.remove(join(project, "deno.lock"));

  // No --config: the config Deno finds beside a local main module.
  const inProject = pathToFileURL(join(project, "tools", "cli.ts")).href;
  const found = invocation({ config: undefined, unstable: [] });
  assertEquals(runsAsChild(found, inProject, config, undefined), true);
  assertEquals(runsAsChild(found, mainUrl, config, undefined), false);
  assertEquals(
    runsAsChild(found, "https://jsr.io/@pivot/cli/0.1.0/cli.ts", config, undefined),
    false,
  );
  // Where discovery and --config could differ: a package.json beside it, a config above it.
  await Deno.writeTextFile(join(project, "package.json"), "{}\n");
  assertEquals(runsAsChild(found, inProject, config, undefined), false);
  await Deno.remove(join(project, "package.json"));
  await Deno.writeTextFile(dir.path("deno.json"), '{ "workspace": ["./project"] }\n');
  assertEquals(runsAsChild(found, inProject, config, undefined), false);
});

test("started as its child would be, pivot runs in one process and behaves the same", async () => {
  // A stage runs in a worker of the process that runs Pivot: it prints that process's id.
  const pipeline = `import { loaders, out, Pipeline } from "jsr:@pivot/core";
export const pipeline = new Pipeline("where");
pipeline.stage({
  name: "where",
  outs: { o: out("o.txt", loaders.text()) },
  run: () => { console.log("pid", Deno.pid); return { o: "x" }; },
});
`;
  const ways: [string, string[]][] = [
    ["relaunched", []],
    ["here", [...CHILD_FLAGS, "--config", "deno.json"]],
  ];
  const runs: Record<string, { code: number; stdout: string; stderr: string }> = {};
  for (const [name, flags] of ways) {
    await using project = await TempProject.create({ "pipeline.ts": pipeline });
    const pivot = async (...args: string[]) => {
      const child = spawn(Deno.execPath(), {
        args: ["run", "-A", ...flags, CLI, ...args],
        cwd: project.root,
        env: { NO_COLOR: "1" },
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      });
      const result = await child.output();
      const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
      return {
        pid: child.pid,
        code: result.code,
        stdout: text(result.stdout),
        stderr: text(result.stderr),
      };
    };
    const first = await pivot("repro");
    assertEquals(first.code, 0, first.stderr);
    const stagePid = Number(/\[where\] pid (\d+)/.exec(first.stdout)?.[1]);
    assertEquals(stagePid === first.pid, name === "here", first.stdout);
    const again = await pivot("repro");
    assertEquals([again.code, again.stdout], [0, "Everything is up to date (1 stage).\n"]);
    const { pid: _, ...bad } = await pivot("repro", "nosuch");
    runs[name] = bad;
  }
  // The same exit code and message either way.
  assertEquals(runs.here.code, 2);
  assertEquals(runs.here, runs.relaunched);
});
