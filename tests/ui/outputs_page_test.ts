/**
 * The web UI's Metrics tab and the run history in the stage panel, in a real
 * browser (Debian's Chromium, driven by playwright-core): a real `pivot ui`
 * on a temporary git project, one browser and one server for the file. The
 * tests run in order and share the project's state.
 */

import { ensureChromium, sharedBrowser, type TestPage } from "../_browser.ts";
import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { afterAll, beforeAll, test } from "../_harness.ts";
import { TempProject } from "../_project.ts";
import { UiProcess } from "./_ui.ts";

const PIPELINE = `import { dep, loaders, metric, Pipeline } from "jsr:@pivot/core";

export const pipeline = new Pipeline("outputs_page_test");

pipeline.stage({
  name: "evaluate",
  deps: { text: dep("data/input.txt", loaders.text()) },
  outs: { scores: metric("metrics.json") },
  run: ({ text }) => ({
    scores: { accuracy: text.trim().length / 100, train: { loss: 1 }, label: text.trim() },
  }),
});
`;

interface MetricsAnswer {
  base: string;
  rows: {
    path: string;
    key: string;
    old?: unknown;
    new?: unknown;
    change: number | null;
    changed: boolean;
  }[];
  files: { path: string; stage?: string; missing?: string; baseMissing?: string }[];
  baseProblem?: string;
  problem?: string;
}

const browser = sharedBrowser();
let shared: { project: TempProject; ui: UiProcess } | undefined;

// A committed run from a terminal (HEAD has metrics.json and its lock file),
// then the UI.
beforeAll(async () => {
  await ensureChromium(); // here, outside any test's time limit
  const project = await TempProject.create({
    "pipeline.ts": PIPELINE,
    "data/input.txt": "abcdefghij\n",
  });
  try {
    await project.initGit();
    const repro = await project.pivot("repro");
    if (repro.code !== 0) throw new Error(`pivot repro: ${repro.stderr}`);
    await project.commitAll("first run");
    shared = { project, ui: await UiProcess.start(project.root) };
  } catch (error) {
    await project.dispose();
    throw error;
  }
});

afterAll(async () => {
  await browser.close();
  if (shared) {
    await shared.ui.stop();
    await shared.project.dispose();
  }
});

function server(): { project: TempProject; ui: UiProcess } {
  if (!shared) throw new Error("the server did not start (see beforeAll)");
  return shared;
}

/** A page on the UI's Metrics tab, its table drawn. */
async function openMetrics(ui: UiProcess): Promise<TestPage> {
  const tab = await browser.page();
  await tab.page.setViewportSize({ width: 1400, height: 900 });
  await tab.page.goto(ui.url);
  await tab.page.waitForSelector("[data-stage]", { timeout: 20_000 });
  await tab.page.click('[data-tab="metrics"]');
  await tab.page.waitForSelector('[data-role="metrics-table"]', { timeout: 20_000 });
  return tab;
}

function cell(tab: TestPage, metric: string, column: string): Promise<string> {
  return tab.page.innerText(`[data-metric="${metric}"] [data-col="${column}"]`);
}

test("metrics: GET /api/metrics is metrics diff --all against HEAD", async () => {
  const { ui } = server();
  const answer = await ui.json<MetricsAnswer>("/api/metrics");
  assertEquals(answer.base, "HEAD");
  assertEquals(answer.files, [{ path: "metrics.json", stage: "evaluate" }]);
  assertEquals(answer.rows, [
    { path: "metrics.json", key: "accuracy", old: 0.1, new: 0.1, change: 0, changed: false },
    { path: "metrics.json", key: "train.loss", old: 1, new: 1, change: 0, changed: false },
    {
      path: "metrics.json",
      key: "label",
      old: "abcdefghij",
      new: "abcdefghij",
      change: null,
      changed: false,
    },
  ]);
});

test("metrics: the tab shows each metric at HEAD and now; a run from the page shows the change", async () => {
  const { project, ui } = server();
  await using tab = await openMetrics(ui);
  const { page } = tab;
  assertEquals(await cell(tab, "metrics.json:accuracy", "old"), "0.1");
  assertEquals(await cell(tab, "metrics.json:accuracy", "new"), "0.1");
  assertMatch(page.url(), /#view=metrics/);
  // A longer input: evaluate will run; run it from its panel on the Pipeline tab.
  await project.write("data/input.txt", "abcdefghijklmno\n");
  await page.click('[data-tab="pipeline"]');
  await page.waitForSelector('[data-stage="evaluate"][data-status="will-run"]', {
    timeout: 20_000,
  });
  await page.click('[data-stage="evaluate"]');
  await page.click('[data-panel-stage="evaluate"] [data-action="run"]');
  await page.waitForSelector('[data-stage="evaluate"][data-status="ran"]', { timeout: 30_000 });
  await page.click('[data-tab="metrics"]');
  // The table is read again after the wave: HEAD's value, the workspace's, the change.
  await page.waitForSelector('[data-metric="metrics.json:accuracy"].changed', { timeout: 20_000 });
  assertEquals(await cell(tab, "metrics.json:accuracy", "old"), "0.1");
  assertEquals(await cell(tab, "metrics.json:accuracy", "new"), "0.15");
  assertEquals(await cell(tab, "metrics.json:accuracy", "change"), "+0.05");
  assertEquals(await cell(tab, "metrics.json:label", "new"), "abcdefghijklmno");
  assertEquals(await cell(tab, "metrics.json:label", "change"), "changed");
  // Changed only hides train.loss, which did not change.
  await page.click('[data-action="changed-only"]');
  await page.locator('[data-metric="metrics.json:train.loss"]').waitFor({ state: "detached" });
  assertEquals(await page.locator("[data-metric]").count(), 2);
  assertEquals(tab.errors, []);
});

test("history: the stage panel's recent runs come from the run history, this server's and a terminal's", async () => {
  const { project, ui } = server();
  // One more run, from a terminal, while the UI serves.
  await project.write("data/input.txt", "abc\n");
  assertEquals((await project.pivot("repro")).code, 0);
  const { runs: history } = JSON.parse((await project.pivot("history", "--json")).stdout) as {
    runs: { id: string; command: string }[];
  };
  const tab = await browser.page();
  await using _ = tab;
  const { page } = tab;
  await page.goto(ui.url);
  await page.waitForSelector("[data-stage]", { timeout: 20_000 });
  await page.click('[data-stage="evaluate"]');
  const rows = page.locator('[data-section="runs"] tr[data-run]');
  await rows.nth(2).waitFor({ timeout: 20_000 });
  const runs = await rows.evaluateAll((trs) =>
    trs.map((tr) => ({ id: tr.getAttribute("data-run"), text: tr.textContent ?? "" }))
  );
  // Newest first: the terminal's repro, the page's run, the first repro.
  assertEquals(runs.map((run) => run.id), history.slice(0, 3).map((run) => run.id));
  assertMatch(runs[0].text, /ran[\s\S]*pivot repro/);
  assertMatch(runs[1].text, /ran[\s\S]*pivot ui/);
  assertMatch(runs[2].text, /ran[\s\S]*pivot repro/);
  assert(
    await page.locator('[data-section="runs"] .bar').count() >= 3,
    "a bar per recent run",
  );
  assertEquals(tab.errors, []);
});
