import { buildBundle, bundleNamed, headerLine, pinnedVersions } from "../../tools/build_bundles.ts";
import { plotLibsScript } from "../../lib/outputs/plot_libs.ts";
import { assert, assertEquals } from "../_assert.ts";
import { output, test } from "../_harness.ts";

const PLOT_LIBS = bundleNamed("plot-libs");
const OUTPUT = new URL(`../../${PLOT_LIBS.output}`, import.meta.url);

test("the committed plot libraries were built from the versions pinned in deno.json", async () => {
  const script = await plotLibsScript();
  assertEquals(
    script.split("\n", 1)[0],
    headerLine(PLOT_LIBS, await pinnedVersions(PLOT_LIBS.packages)),
  );
  assertEquals(script, await Deno.readTextFile(OUTPUT));
});

test("the plot libraries can be inlined in a page and carry their licences", async () => {
  const script = (await plotLibsScript()).toLowerCase();
  assert(!script.includes("</script") && !script.includes("<!--"));
  assert(script.includes("third-party licences of the code above"));
  assert(script.includes("university of washington interactive data lab"));
});

test("rebuilding the plot libraries gives the committed file (run 'deno task bundles plot-libs' if not)", async () => {
  const built = await buildBundle(PLOT_LIBS);
  assert(
    built === await Deno.readTextFile(OUTPUT),
    "lib/outputs/_vendor/plot_libs.js is out of date",
  );
});

interface GraphModule {
  specifier: string;
  dependencies?: {
    code?: { specifier: string };
    isDynamic?: boolean;
    assertionType?: string;
  }[];
}

async function moduleGraph(root: string): Promise<Map<string, GraphModule>> {
  const { stdout } = await output(Deno.execPath(), {
    args: ["info", "--json", new URL(root, import.meta.url).href],
  });
  const info = JSON.parse(new TextDecoder().decode(stdout)) as { modules: GraphModule[] };
  return new Map(info.modules.map((module) => [module.specifier, module]));
}

test("the plot libraries are in Pivot's module graph, but off every command's start-up path", async () => {
  const main = new URL("../../lib/cli/main.ts", import.meta.url).href;
  const graph = await moduleGraph(main);
  // Reachable (so `deno install` of Pivot caches it), as a text import behind a dynamic import…
  const text = [...graph.values()].flatMap((module) => module.dependencies ?? [])
    .find((dep) => dep.code?.specifier.endsWith("/lib/outputs/_vendor/plot_libs.js"));
  assertEquals([text?.isDynamic, text?.assertionType], [true, "text"]);
  // …and nothing of lib/outputs/ is imported statically by the CLI's entry,
  // nor by the plots command's module, which the entry imports when it runs.
  const plots = new URL("../../lib/cli/commands/plots.ts", import.meta.url).href;
  const seen = new Set<string>();
  const queue = [main, plots];
  for (let specifier = queue.pop(); specifier !== undefined; specifier = queue.pop()) {
    if (seen.has(specifier)) continue;
    seen.add(specifier);
    for (const dep of graph.get(specifier)?.dependencies ?? []) {
      if (dep.code && !dep.isDynamic) queue.push(dep.code.specifier);
    }
  }
  assert(graph.has(plots), "the command table reaches the plots command");
  assertEquals([...seen].filter((s) => s.includes("/lib/outputs/") || s.includes("vega")), []);
});
