/**
 * The page's assets: the committed bundle matches its sources, the assets
 * load through the module graph, and no other command loads the UI's code.
 */

import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { output, test } from "../_harness.ts";
import { REPO } from "../_project.ts";
import { loadAssets } from "../../lib/ui/assets.ts";

test("assets: the committed page bundle is what its sources build (deno task bundles ui-page)", async () => {
  const { code, stderr } = await output(Deno.execPath(), {
    args: ["run", "-A", "tools/build_bundles.ts", "--check", "ui-page"],
    cwd: REPO,
  });
  assertEquals(code, 0, new TextDecoder().decode(stderr));
});

test("assets: the page, its script and its stylesheet load through import.meta.url", async () => {
  const assets = await loadAssets();
  const html = new TextDecoder().decode(assets.page.body);
  for (const path of ["/assets/page.js", "/assets/page.css", "/favicon.svg"]) {
    const asset = assets.files.get(path);
    assert(asset && asset.body.length > 0, path);
    assert(html.includes(`${path}?v=${asset.etag}`), `the page names ${path} by its content`);
  }
  const script = new TextDecoder().decode(assets.files.get("/assets/page.js")!.body);
  assertMatch(script, /^\/\/ lib\/ui\/page\/main\.tsx with preact@[\d.]+:/);
  assertMatch(script, /Third-party licences/);
});

test("assets: no command loads the UI's code unless it serves the UI", async () => {
  // Every command starts from lib/cli/main.ts (the launcher imports it), which
  // imports the module of the command that runs: walk statically from main.ts
  // and from every command module but `ui`'s.
  const commandsDir = new URL("../../lib/cli/commands/", import.meta.url);
  const commands = [...Deno.readDirSync(commandsDir)]
    .filter((entry) => entry.isFile && entry.name.endsWith(".ts") && entry.name !== "ui.ts")
    .map((entry) => new URL(entry.name, commandsDir).href);
  assert(commands.length > 20, "the command modules are there");
  // (main.ts names them in types only, so `deno info` of main.ts lists them.)
  const { stdout } = await output(Deno.execPath(), {
    args: ["info", "--json", "lib/cli/main.ts"],
    cwd: REPO,
  });
  const info = JSON.parse(new TextDecoder().decode(stdout)) as {
    roots: string[];
    modules: {
      specifier: string;
      dependencies?: { code?: { specifier: string }; isDynamic?: boolean }[];
    }[];
  };
  const bySpecifier = new Map(info.modules.map((m) => [m.specifier, m]));
  const loaded = new Set<string>();
  const queue = [...info.roots, ...commands];
  for (let next = queue.pop(); next !== undefined; next = queue.pop()) {
    if (loaded.has(next)) continue;
    loaded.add(next);
    for (const dep of bySpecifier.get(next)?.dependencies ?? []) {
      if (dep.code && !dep.isDynamic) queue.push(dep.code.specifier);
    }
  }
  const ui = [...loaded].filter((s) => s.includes("/lib/ui/") || /preact|dagre/.test(s));
  assertEquals(ui, []);
  assert(loaded.size > 20, "the walk found the CLI's modules");
});
