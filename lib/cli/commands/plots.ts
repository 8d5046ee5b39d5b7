/**
 * `pivot plots show|diff [TARGETS]`: the project's plots in one
 * self-contained HTML page (or as JSON), at the workspace or overlaid at two
 * revisions. Shapes and design: docs/plots.md.
 *
 * The renderer and the chart libraries are imported only when this command
 * runs: nothing of them is on the start-up path of other commands.
 *
 * @module
 */

import { basename, dirname, join, relative, resolve } from "node:path";
import { PivotError } from "../../errors.ts";
import { toFileUrl } from "../../paths.ts";
import type { StageDef } from "../../model/stage_def.ts";
import { type Command, diffSources, subcommandError } from "../command.ts";
import { openInBrowser } from "../open_browser.ts";
import { diffNeed } from "../git_need.ts";
import { withSession } from "../session.ts";
import type { OutsSource } from "../../outputs/outs_at_revision.ts";
import type { PlotTarget } from "../../outputs/plots.ts";

const USAGE = "plots show|diff [TARGETS...] [options]";

/** Where the page goes without `-o`, as `dvc_plots/` for DVC. */
const DEFAULT_DIR = "pivot_plots";

/** The `plots` command. */
export const plots: Command = {
  name: "plots",
  summary: "Show plots in one offline HTML page, or overlay them at two revisions (diff).",
  usage: USAGE,
  options: {
    out: {
      type: "string",
      short: "o",
      value: "DIR",
      help: `write DIR/index.html (default ${DEFAULT_DIR})`,
    },
    open: { type: "boolean", help: "open the page in a browser ($BROWSER, else the system's)" },
    json: { type: "boolean", help: "print each plot's data and Vega-Lite spec as JSON instead" },
    rev: {
      type: "string",
      multiple: true,
      value: "REV",
      help: "diff: a git revision; once: REV vs the workspace, twice: A vs B (default HEAD)",
    },
  },
  async run({ values, positionals }, env) {
    const [action, ...targets] = positionals;
    if (action !== "show" && action !== "diff") {
      throw subcommandError("plots", action, USAGE);
    }
    const revs = (values.rev as string[] | undefined) ?? [];
    if (action === "show" && revs.length > 0) {
      throw new PivotError("plots show: --rev applies to 'plots diff' only");
    }
    if (values.json && (values.out !== undefined || values.open)) {
      throw new PivotError(`plots ${action}: --json prints to stdout: drop -o/--open`);
    }
    const sources: OutsSource[] = action === "show"
      ? [{ kind: "workspace" }]
      : diffSources("plots diff", revs);
    const warn = (message: string) => env.output.error(`warning: ${message}`);

    return await withSession(env, async (session) => {
      const { project, graph, cache } = session.context;
      const { declaredPlots, plotsJson, renderPlots } = await import("../../outputs/plots.ts");
      const { sourceLabel } = await import("../../outputs/outs_at_revision.ts");
      const declared = declaredPlots(graph.order);
      const selected = targets.length === 0
        ? declared
        : selectTargets(targets, declared, graph.order, env.cwd, project.root);
      if (selected.length === 0) {
        throw new PivotError(
          "no plots in this pipeline: declare one with plot(path, loader, options) in a stage's outs (see docs/plots.md)",
        );
      }
      const rendered = await renderPlots(selected, {
        root: project.root,
        cache,
        stages: graph.order,
        sources,
        warn,
      });
      const labels = sources.map(sourceLabel);
      if (values.json) {
        env.output.line(JSON.stringify(plotsJson(rendered, labels), null, 2));
        return 0;
      }
      if (rendered.length === 0) {
        throw new PivotError(
          `plots ${action}: none of the plots has content to show: run 'pivot repro' first`,
        );
      }
      const { plotsPage } = await import("../../outputs/plot_page.ts");
      const html = await plotsPage(rendered, {
        title: `Plots: ${basename(project.root)}`,
        subtitle: labels.length === 1 ? labels[0] : `${labels[0]} vs ${labels[1]}`,
      });
      const dir = resolve(env.cwd, (values.out as string | undefined) ?? DEFAULT_DIR);
      const file = join(dir, "index.html");
      await writeAtomically(file, html);
      const url = toFileUrl(file);
      env.output.line(url);
      const problem = values.open ? openInBrowser(url) : undefined;
      if (problem) env.output.error(`warning: ${problem}: open ${url} yourself, or set BROWSER`);
      return 0;
    }, { git: action === "diff" ? diffNeed("plots") : undefined });
  },
};

/**
 * The plots named by `targets`: a declared plot's path (relative to the
 * current directory), a file or directory inside a directory plot, a stage
 * name (its plots), or any other data or image file in the workspace (drawn
 * with default options).
 */
function selectTargets(
  targets: readonly string[],
  declared: readonly PlotTarget[],
  stages: readonly StageDef[],
  cwd: string,
  root: string,
): PlotTarget[] {
  const selected = new Map<string, PlotTarget>();
  const add = (target: PlotTarget, only?: string) => {
    const previous = selected.get(target.path);
    if (previous && previous.only === undefined) return;
    const narrowed = only === undefined ? undefined : [...(previous?.only ?? []), only];
    selected.set(target.path, {
      ...target,
      ...(narrowed ? { only: narrowed } : { only: undefined }),
    });
  };
  for (const name of targets) {
    const path = relative(root, resolve(cwd, name)).replaceAll("\\", "/");
    const inProject = path !== ".." && !path.startsWith("../");
    // The plot itself or a directory holding it: all of it; a path inside a directory plot: that part.
    const whole = declared.filter((plot) => inProject && holds(path, plot.path));
    const part = declared.filter((plot) =>
      inProject && plot.isDir && path.startsWith(`${plot.path}/`)
    );
    if (whole.length + part.length > 0) {
      for (const plot of whole) add(plot);
      for (const plot of part) add(plot, path);
      continue;
    }
    const stage = stages.find((candidate) => candidate.name === name);
    if (stage) {
      const own = declared.filter((plot) => plot.stage === stage.name);
      if (own.length === 0) {
        throw new PivotError(`plots: stage '${name}' declares no plot: see 'pivot list'`);
      }
      for (const plot of own) add(plot);
      continue;
    }
    let info: Deno.FileInfo | undefined;
    try {
      info = inProject ? Deno.statSync(join(root, path)) : undefined;
    } catch {
      info = undefined;
    }
    if (info === undefined) {
      throw new PivotError(
        `plots: '${name}' is neither a plot, a stage nor a file in the project: see 'pivot list'`,
      );
    }
    const producer = stages.find((s) => s.outs.some((out) => out.path === path));
    add({ path, isDir: info.isDirectory, stage: producer?.name, display: {} });
  }
  return [...selected.values()];
}

/** True when `path` is `dir` or inside it (`""` is the project root). */
function holds(dir: string, path: string): boolean {
  return dir === "" || path === dir || path.startsWith(`${dir}/`);
}

/** Write `file` through a temporary sibling, so a reader never sees half a page. */
async function writeAtomically(file: string, text: string): Promise<void> {
  await Deno.mkdir(dirname(file), { recursive: true });
  const { writeTextAtomically } = await import("../../storage/temp_files.ts");
  try {
    writeTextAtomically(file, text);
  } catch (error) {
    if (error instanceof Deno.errors.PermissionDenied || error instanceof Deno.errors.NotFound) {
      throw new PivotError(
        `cannot write ${file}: ${(error as Error).message}: choose another -o DIR`,
      );
    }
    throw error;
  }
}
