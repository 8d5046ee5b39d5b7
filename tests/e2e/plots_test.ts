/**
 * `pivot plots show|diff` through the real CLI: JSON output, targets,
 * revisions read from lock files and the cache, and bad input.
 */

import { parse } from "yaml";
import { plotsProject, rerun } from "./_plots.ts";
import { runPivot, TempProject } from "../_project.ts";
import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { test } from "../_harness.ts";

interface JsonPlot {
  path: string;
  stage: string | null;
  kind: string;
  revisions: string[];
  template?: string;
  x?: string;
  y?: string[];
  data?: Record<string, unknown>[];
  spec?: Record<string, unknown>;
  images?: { rev: string; type: string; file: string }[];
}

async function plotsJson(p: TempProject, ...args: string[]) {
  const result = await p.pivot("plots", ...args, "--json");
  assertEquals(result.code, 0, result.stderr);
  return {
    ...JSON.parse(result.stdout) as { revisions: string[]; plots: JsonPlot[] },
    stderr: result.stderr,
  };
}

/** The one error line of a failed command, after checking it is one line with exit code 2. */
function oneLineError(result: { code: number; stdout: string; stderr: string }): string {
  assertEquals(result.code, 2, result.stderr);
  const lines = result.stderr.trim().split("\n");
  assertEquals(lines.length, 1, result.stderr);
  return lines[0];
}

test("plots show --json prints each plot's data and Vega-Lite spec, and each image's file", async () => {
  await using p = await plotsProject();
  const shown = await plotsJson(p, "show");
  assertEquals(shown.revisions, ["workspace"]);
  assertEquals(
    shown.plots.map((plot) => [plot.path, plot.kind, plot.template ?? null, plot.stage]),
    [
      ["roc.csv", "chart", "linear", "evaluate"],
      ["loss.json", "chart", "linear", "evaluate"],
      ["points.jsonl", "chart", "scatter", "evaluate"],
      ["accuracy.tsv", "chart", "bar", "evaluate"],
      ["confusion.csv", "chart", "confusion", "evaluate"],
      ["chart.png", "image", null, "evaluate"],
      ["badge.svg", "image", null, "evaluate"],
      ["report.html", "html", null, "evaluate"],
    ],
  );
  const roc = shown.plots[0];
  assertEquals([roc.x, roc.y, roc.data?.length], ["fpr", ["tpr"], 5]);
  assertEquals(roc.data?.[4], { fpr: 1, tpr: 1 });
  assertEquals((roc.spec?.data as { values: unknown[] }).values, roc.data);
  assertEquals((roc.spec?.mark as { type: string }).type, "line");
  assertEquals(shown.plots[5].images, [{
    rev: "workspace",
    type: "image/png",
    file: p.path("chart.png"),
  }]);
  // --json writes no page.
  assertEquals(await p.exists("pivot_plots"), false);
});

test("plots diff reads HEAD from its lock files and the cache, not from git or the workspace", async () => {
  await using p = await plotsProject();
  await rerun(p, 6, "blue");
  const status = await p.git("status", "--porcelain");
  const index = await Deno.readFile(p.path(".git/index"));
  const workspace = await p.read("roc.csv");

  const diff = await plotsJson(p, "diff", "roc.csv", "badge.svg");
  assertEquals(diff.revisions, ["HEAD", "workspace"]);
  const [roc, badge] = diff.plots;
  assertEquals(roc.revisions, ["HEAD", "workspace"]);
  assertEquals(roc.data?.filter((row) => row.rev === "HEAD").length, 5);
  assertEquals(roc.data?.filter((row) => row.rev === "workspace").length, 7);
  // The plots are git-ignored: HEAD's image can only be the cache object its lock names.
  assertMatch(badge.images![0].file, /\/\.pivot\/cache\/files\/[0-9a-f]{2}\/[0-9a-f]{14}$/);
  assertMatch(await Deno.readTextFile(badge.images![0].file), /fill="red"/);
  assertEquals(badge.images![1].file, p.path("badge.svg"));

  assertEquals(await p.git("status", "--porcelain"), status);
  assertEquals(await Deno.readFile(p.path(".git/index")), index);
  assertEquals(await p.read("roc.csv"), workspace);
});

test("plots diff --rev A --rev B compares two commits; --rev A alone compares A with the workspace", async () => {
  await using p = await plotsProject();
  const first = await p.git("rev-parse", "HEAD");
  await rerun(p, 6, "blue");
  await p.commitAll("n=6");
  await rerun(p, 8, "green");
  const rows = (plot: JsonPlot) =>
    Object.entries(Object.groupBy(plot.data!, (row) => String(row.rev))).map((
      [rev, list],
    ) => [rev, list!.length]);

  const between = await plotsJson(p, "diff", "roc.csv", "--rev", first, "--rev", "HEAD");
  assertEquals(between.revisions, [first, "HEAD"]);
  assertEquals(rows(between.plots[0]), [[first, 5], ["HEAD", 7]]);

  const since = await plotsJson(p, "diff", "roc.csv", "--rev", "HEAD~1");
  assertEquals(rows(since.plots[0]), [["HEAD~1", 5], ["workspace", 9]]);
});

test("plots show writes one page to -o DIR and prints its URL; targets pick plots", async () => {
  await using p = await plotsProject();
  const result = await p.pivot("plots", "show", "-o", "out/page");
  assertEquals(result.code, 0, result.stderr);
  assertEquals(result.stdout, `file://${p.path("out/page/index.html")}\n`);
  const html = await p.read("out/page/index.html");
  assertMatch(html, /^<!doctype html>/);
  assert(!/<script[^>]+src=|<link[^>]+href=/i.test(html), "the page loads no script or style");

  const byPath = await plotsJson(p, "show", "roc.csv", "badge.svg");
  assertEquals(byPath.plots.map((plot) => plot.path), ["roc.csv", "badge.svg"]);
  const byStage = await plotsJson(p, "show", "evaluate");
  assertEquals(byStage.plots.length, 8);
  // Any data file of the project can be plotted, with the default options.
  await p.write("extra/scores.csv", "epoch,score\n0,1\n1,3\n");
  const extra = await plotsJson(p, "show", "extra/scores.csv");
  assertEquals(
    extra.plots.map((plot) => [plot.path, plot.stage, plot.x, plot.y]),
    [["extra/scores.csv", null, "step", ["score"]]],
  );
});

test("plots show --open hands the page to $BROWSER", async () => {
  await using p = await plotsProject();
  // Written aside and renamed into place: once opened.txt exists, it is whole
  // (`printf … > opened.txt` makes the file before writing to it).
  const [partial, opened] = [p.path("opened.tmp"), p.path("opened.txt")];
  await p.write(
    "browser.sh",
    `#!/bin/sh\nprintf '%s' "$1" > ${partial}\nmv ${partial} ${opened}\n`,
  );
  await Deno.chmod(p.path("browser.sh"), 0o755);
  const result = await runPivot(p.root, ["plots", "show", "--open"], {
    BROWSER: p.path("browser.sh"),
  });
  assertEquals(result.code, 0, result.stderr);
  const url = result.stdout.trim();
  // The browser is started and not waited for: wait for it (bounded).
  for (const end = Date.now() + 20_000; Date.now() < end && !await p.exists("opened.txt");) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assertEquals(await p.read("opened.txt"), url);
});

test("a plot whose content at HEAD is not in the cache is drawn from the workspace, with a warning", async () => {
  await using p = await plotsProject();
  // Remove the cache object that HEAD's lock file names for roc.csv.
  const lock = parse(await p.read(".pivot/stages/evaluate.lock")) as {
    outs: { path: string; hash: string }[];
  };
  const hash = lock.outs.find((out) => out.path === "roc.csv")!.hash;
  await Deno.remove(p.path(`.pivot/cache/files/${hash.slice(0, 2)}/${hash.slice(2)}`));
  const diff = await plotsJson(p, "diff", "roc.csv");
  assertEquals(diff.plots[0].revisions, ["workspace"]);
  assertMatch(
    diff.stderr,
    /^warning: roc\.csv at HEAD: its content \([0-9a-f]{16}\) is not in the cache: /m,
  );
});

test("bad plot input is one line and exit code 2, and writes no page", async () => {
  await using p = await plotsProject();
  await p.write(
    "pipeline.ts",
    (await p.read("pipeline.ts")).replace('template: "bar"', 'template: "pie" as "bar"'),
  );
  assertMatch(
    oneLineError(await p.pivot("plots", "show")),
    /^error: plot\("accuracy\.tsv"\): unknown template "pie": use linear, scatter, bar, confusion$/,
  );
  await p.write(
    "pipeline.ts",
    (await p.read("pipeline.ts")).replace('template: "pie" as "bar"', 'template: "bar"')
      .replace('x: "fpr"', 'x: "fpx"'),
  );
  assertMatch(
    oneLineError(await p.pivot("plots", "show")),
    /^error: roc\.csv: no column 'fpx' \(its columns: fpr, tpr\): set x and y in plot\(\) options/,
  );
  assertEquals(await p.exists("pivot_plots"), false);
  assertMatch(
    oneLineError(await p.pivot("plots", "diff", "badge.svg", "--rev", "no-such-branch")),
    /^error: unknown git revision 'no-such-branch': name a commit, branch or tag$/,
  );
  assertMatch(
    oneLineError(await p.pivot("plots", "show", "--rev", "HEAD")),
    /--rev applies to 'plots diff' only/,
  );
  assertMatch(
    oneLineError(await p.pivot("plots", "diff", "--rev", "a", "--rev", "b", "--rev", "c")),
    /--rev given 3 times: give at most two/,
  );
  assertMatch(
    oneLineError(await p.pivot("plots", "draw")),
    /^error: plots: unknown subcommand 'draw'/,
  );
  assertMatch(
    oneLineError(await p.pivot("plots", "show", "nope.csv")),
    /^error: plots: 'nope\.csv' is neither a plot, a stage nor a file in the project/,
  );
});

test("a project without plots says how to declare one", async () => {
  await using p = await TempProject.create({
    "pipeline.ts": `import { loaders, out, Pipeline } from "jsr:@pivot/core";
export const pipeline = new Pipeline("none");
pipeline.stage({ name: "a", outs: { o: out("o.json", loaders.json<number>()) }, run: () => ({ o: 1 }) });
`,
  });
  assertMatch(
    oneLineError(await p.pivot("plots", "show")),
    /^error: no plots in this pipeline: declare one with plot\(path, loader, options\)/,
  );
});

test("changing how a plot is drawn re-runs nothing", async () => {
  await using p = await plotsProject();
  await p.write(
    "pipeline.ts",
    (await p.read("pipeline.ts")).replace(
      'template: "linear"',
      'template: "scatter", title: "ROC"',
    ),
  );
  const { stages } = await p.status();
  assertEquals(stages.map((stage) => [stage.name, stage.status]), [["evaluate", "up-to-date"]]);
  const [roc] = (await plotsJson(p, "show", "roc.csv")).plots;
  assertEquals([roc.template, roc.spec?.title], ["scatter", "ROC"]);
});
