/**
 * A project with one plot of each kind, for the `pivot plots` tests: the
 * stage's params (`n`, `colour`) change its plots, so a `params.yaml`
 * override and a `repro` make a second revision to diff.
 *
 * @module
 */

import { TempProject } from "../_project.ts";

/** A 3×2 red PNG. */
export const PNG_BASE64 =
  "iVBORw0KGgoAAAANSUhEUgAAAAMAAAACCAIAAAASFvFNAAAAEElEQVR4nGP4z8AAQQxwFgBB0gX7h/C5SAAAAABJRU5ErkJggg==";

/**
 * With params `n` and `colour`: roc.csv has n + 1 rows, loss.json n rows
 * of two series, points.jsonl n points, accuracy.tsv 3 bars, confusion.csv
 * 3 cells (cat→cat n times, cat→dog once, dog→dog twice), chart.png and
 * badge.svg (filled with `colour`) are images, report.html a page whose
 * script writes `n=<n>`.
 */
export const PLOTS_PIPELINE = `import { loaders, plot, Pipeline } from "jsr:@pivot/core";

export const pipeline = new Pipeline("plots");

const PNG = "${PNG_BASE64}";

pipeline.stage({
  name: "evaluate",
  params: { n: 4, colour: "red" },
  outs: {
    roc: plot("roc.csv", loaders.csv(), { x: "fpr", y: "tpr", template: "linear" }),
    loss: plot("loss.json", loaders.json(), { x: "epoch", y: ["train", "val"] }),
    points: plot("points.jsonl", loaders.jsonl(), { x: "a", y: "b", template: "scatter" }),
    accuracy: plot("accuracy.tsv", loaders.csv({ separator: "\\t" }), {
      x: "class",
      y: "accuracy",
      template: "bar",
    }),
    confusion: plot("confusion.csv", loaders.csv(), {
      x: "actual",
      y: "predicted",
      template: "confusion",
    }),
    chart: plot("chart.png", loaders.bytes()),
    badge: plot("badge.svg", loaders.text()),
    report: plot("report.html", loaders.text()),
  },
  run: (_deps, { params }) => {
    const { n, colour } = params;
    const steps = Array.from({ length: n }, (_, i) => i);
    return {
      roc: [...steps, n].map((i) => ({ fpr: i / n, tpr: Math.sqrt(i / n) })),
      loss: steps.map((i) => ({ epoch: i, train: 1 / (i + 1), val: 1.5 / (i + 1) })),
      points: steps.map((i) => ({ a: i, b: (i * n) % 7 })),
      accuracy: ["cat", "dog", "bird"].map((name, i) => ({ class: name, accuracy: (i + n) / 10 })),
      confusion: [
        ...steps.map(() => ({ actual: "cat", predicted: "cat" })),
        { actual: "cat", predicted: "dog" },
        { actual: "dog", predicted: "dog" },
        { actual: "dog", predicted: "dog" },
      ],
      chart: Uint8Array.from(atob(PNG), (c) => c.charCodeAt(0)),
      report: \`<p id="n">?</p><script>document.getElementById("n").textContent = "n=\${n}";</script>\`,
      badge: \`<svg xmlns="http://www.w3.org/2000/svg" width="30" height="20"><rect width="30" height="20" fill="\${colour}"/></svg>\`,
    };
  },
});
`;

/** The plot files: ignored by git, so a revision's plots can only come from the cache. */
export const PLOT_FILES = [
  "roc.csv",
  "loss.json",
  "points.jsonl",
  "accuracy.tsv",
  "confusion.csv",
  "chart.png",
  "badge.svg",
  "report.html",
];

/**
 * The plots project in a git repository, run once and committed (lock
 * files included; the plots and the page's directory ignored).
 */
export async function plotsProject(): Promise<TempProject> {
  const p = await TempProject.create({
    "pipeline.ts": PLOTS_PIPELINE,
    ".gitignore": ["pivot_plots/", ...PLOT_FILES].join("\n") + "\n",
  });
  try {
    await p.initGit();
    const run = await p.pivot("repro");
    if (run.code !== 0) throw new Error(`repro failed: ${run.stderr}`);
    await p.commitAll("first run");
    return p;
  } catch (error) {
    await p.dispose();
    throw error;
  }
}

/** Change the plots' params through params.yaml and run again (not committed). */
export async function rerun(p: TempProject, n: number, colour: string): Promise<void> {
  await p.write("params.yaml", `evaluate:\n  n: ${n}\n  colour: ${colour}\n`);
  const run = await p.pivot("repro");
  if (run.code !== 0) throw new Error(`repro failed: ${run.stderr}`);
}
