/**
 * The web UI in a real browser (Debian's Chromium, driven by
 * playwright-core): a real `pivot ui` on a temporary project, one browser
 * and one server for the file. The tests run in order and share the
 * project's state; each says what it starts from.
 */

import type { Page } from "playwright-core";
import { ensureChromium, sharedBrowser, type TestPage } from "../_browser.ts";
import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { afterAll, beforeAll, test } from "../_harness.ts";
import { TempProject } from "../_project.ts";
import { UiProcess } from "./_ui.ts";

const PIPELINE = `import { defineStage, dep, loaders, out, Pipeline, plot } from "jsr:@pivot/core";
import { normalize } from "./lib/helper.ts";

export const pipeline = new Pipeline("page_test");

pipeline.stage({
  name: "prepare",
  deps: { raw: dep("data/input.txt", loaders.text()) },
  outs: { clean: out("build/clean.txt", loaders.text()) },
  run: ({ raw }) => ({ clean: normalize(raw) }),
});

pipeline.stage({
  name: "slow",
  deps: { clean: dep("build/clean.txt", loaders.text()) },
  outs: { done: out("build/slow.txt", loaders.text()) },
  run: async ({ clean }, { signal }) => {
    for (let step = 1; step <= 3; step++) {
      console.log("step " + step);
      await new Promise((resolve, reject) => {
        const timer = setTimeout(resolve, 1000);
        signal.addEventListener("abort", () => { clearTimeout(timer); reject(signal.reason); });
      });
    }
    return { done: clean + "!" };
  },
});

pipeline.stage({
  name: "broken",
  deps: { clean: dep("build/clean.txt", loaders.text()) },
  outs: { never: out("build/never.txt", loaders.text()) },
  run: () => {
    console.error("about to fail");
    throw new Error("the model diverged");
  },
});

pipeline.stage({
  name: "patient",
  outs: { never: out("build/patient.txt", loaders.text()) },
  run: (_deps, { signal }) =>
    new Promise((_resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("not cancelled in time")), 60_000);
      signal.addEventListener("abort", () => { clearTimeout(timer); reject(signal.reason); });
    }),
});

pipeline.stage({
  name: "curve",
  deps: { clean: dep("build/clean.txt", loaders.text()) },
  outs: { losses: plot("build/curve.csv", loaders.csv(), { x: "step", y: "loss" }) },
  run: ({ clean }) => ({
    losses: [1, 2, 3].map((step) => ({ step: String(step), loss: String(clean.length / step) })),
  }),
});

const fit = defineStage({
  deps: { clean: dep("build/clean.txt", loaders.text()) },
  outs: { model: out("build/model.txt", loaders.text()) },
  params: { size: 1 },
  run: ({ clean }, { params }) => ({ model: clean.slice(0, params.size) }),
});
pipeline.register(fit, { name: "fit@small", outs: { model: "build/small.txt" } });
pipeline.register(fit, { name: "fit@large", outs: { model: "build/large.txt" }, params: { size: 3 } });
`;

const helper = (body: string) =>
  `export function normalize(text: string): string {\n  ${body}\n}\n`;

const STAGES = ["broken", "curve", "fit@large", "fit@small", "patient", "prepare", "slow"];
const STATUSES = new Set([
  "checking",
  "up-to-date",
  "will-run",
  "running",
  "ran",
  "restored",
  "failed",
  "blocked",
  "cancelled",
]);

const browser = sharedBrowser();
let shared: { project: TempProject; ui: UiProcess } | undefined;
/** Every request any page of this file made. */
const requests: string[] = [];

// One project and one server for the whole file, started outside any test so
// that no test owns (and must stop) the process.
beforeAll(async () => {
  await ensureChromium(); // here, outside any test's time limit
  const project = await TempProject.create({
    "pipeline.ts": PIPELINE,
    "lib/helper.ts": helper("return text.trim().toLowerCase();"),
    "data/input.txt": "  Hello Pivot  ",
  });
  shared = { project, ui: await UiProcess.start(project.root) };
});

afterAll(async () => {
  await browser.close();
  if (shared) {
    await shared.ui.stop();
    await shared.project.dispose();
  }
});

/** The file's project and server. */
function server(): { project: TempProject; ui: UiProcess } {
  if (!shared) throw new Error("the server did not start (see beforeAll)");
  return shared;
}

/** A page on the UI, with its nodes drawn and every status known. */
async function open(ui: UiProcess): Promise<TestPage> {
  const tab = await browser.page();
  await tab.page.setViewportSize({ width: 1400, height: 900 });
  await tab.page.goto(ui.url);
  await tab.page.waitForSelector("[data-stage]", { timeout: 20_000 });
  // (A selector, not a predicate: the page's CSP forbids evaluating strings.)
  await tab.page.locator('[data-status="checking"]').first().waitFor({
    state: "detached",
    timeout: 20_000,
  });
  return {
    ...tab,
    [Symbol.asyncDispose]: async () => {
      requests.push(...tab.requests);
      await tab[Symbol.asyncDispose]();
    },
  };
}

function status(page: Page, stage: string): Promise<string | null> {
  return page.getAttribute(`[data-stage="${stage}"]`, "data-status");
}

async function waitStatus(page: Page, stage: string, wanted: string, timeout = 20_000) {
  await page.waitForSelector(`[data-stage="${stage}"][data-status="${wanted}"]`, { timeout });
}

/**
 * Record every status `stage`'s node takes from now on, in
 * `window.__statuses` (browser code, given as text: it runs in the page).
 */
async function recordStatuses(page: Page, stage: string): Promise<void> {
  await page.evaluate(`(() => {
    const seen = [];
    window.__statuses = seen;
    const status = () =>
      document.querySelector(${
    JSON.stringify(`[data-stage="${stage}"]`)
  })?.getAttribute("data-status") ?? "";
    seen.push(status());
    new MutationObserver(() => {
      const now = status();
      if (seen.at(-1) !== now) seen.push(now);
    }).observe(document.body, { subtree: true, attributes: true, childList: true });
  })()`);
}

function statusesSeen(page: Page): Promise<string[]> {
  return page.evaluate("window.__statuses") as Promise<string[]>;
}

/** Run stages through the API and wait until the wave is over. */
async function runAndWait(ui: UiProcess, stages?: string[]): Promise<void> {
  await ui.json("/api/run", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(stages ? { stages } : {}),
  });
  await ui.until(
    async () => {
      const s = await ui.json<{ wave: { running: boolean; summary?: unknown } }>("/api/snapshot");
      return !s.wave.running && s.wave.summary !== undefined;
    },
    "the wave's end",
    30_000,
  );
}

test("page: every stage is a node with data-stage and data-status; variants are grouped", async () => {
  const { ui } = server();
  await using tab = await open(ui);
  const { page } = tab;
  const names = await page.$$eval(
    "[data-stage]",
    (nodes) => nodes.map((n) => n.getAttribute("data-stage")!).sort(),
  );
  assertEquals(names, STAGES);
  for (const name of names) {
    const value = await status(page, name);
    assert(value !== null && STATUSES.has(value), `${name}: ${value}`);
  }
  // Nothing ran yet: everything will run, the never-run reason is on the node.
  assertEquals(await status(page, "prepare"), "will-run");
  assertMatch(await page.innerText('[data-stage="prepare"]'), /will run · never-run/);
  assertEquals(
    await page.$$eval("[data-group]", (g) => g.map((e) => e.getAttribute("data-group"))),
    [
      "fit",
    ],
  );
  assertEquals(tab.errors, []);
});

test("page: a run started from the page is seen live, running then ran, without a reload", async () => {
  const { ui } = server();
  await using tab = await open(ui);
  const { page } = tab;
  await page.evaluate(() =>
    (globalThis as unknown as { __sameDocument: boolean }).__sameDocument = true
  );
  await page.click('[data-stage="slow"]');
  await page.waitForSelector('[data-panel-stage="slow"]');
  await recordStatuses(page, "slow");
  await page.click('[data-panel-stage="slow"] [data-action="run"]');
  await waitStatus(page, "slow", "running");
  // The elapsed time ticks on the node while it runs.
  assertMatch(await page.innerText('[data-stage="slow"]'), /running \d+\.\d\ds/);
  // Its log streams into the open panel before it finishes.
  await page.waitForSelector('[data-role="log"]:has-text("step 1")', { timeout: 10_000 });
  assertEquals(await status(page, "slow"), "running");
  await waitStatus(page, "slow", "ran");
  const seen = await page.evaluate(() =>
    (globalThis as unknown as { __statuses: string[] }).__statuses
  );
  const running = seen.indexOf("running");
  assert(running >= 0 && seen.indexOf("ran") > running, `statuses seen: ${seen.join(" → ")}`);
  assertMatch(await page.innerText('[data-role="log"]'), /step 1\nstep 2\nstep 3/);
  // The same document all along: no reload happened.
  assert(
    await page.evaluate(() =>
      (globalThis as unknown as { __sameDocument?: boolean }).__sameDocument
    ),
  );
  // Upstream ran too (it was stale).
  assertEquals(await status(page, "prepare"), "ran");
  assertEquals(tab.errors, []);
});

test("page: a helper edit shows as will-run, with the changed key and its file:line", async () => {
  const { project, ui } = server();
  await runAndWait(ui, ["prepare", "slow", "fit@small", "fit@large"]);
  await using tab = await open(ui);
  const { page } = tab;
  assert(["ran", "up-to-date"].includes((await status(page, "prepare"))!));
  await project.write("lib/helper.ts", helper("return text.trim().toUpperCase();"));
  await waitStatus(page, "prepare", "will-run");
  // Below it, stages will run because of it.
  await waitStatus(page, "slow", "will-run");
  await page.click('[data-stage="prepare"]');
  const row = page.locator('[data-changes="code"] [data-key="mod:lib/helper.ts#normalize"]');
  await row.waitFor({ timeout: 10_000 });
  assertMatch(await row.innerText(), /mod:lib\/helper\.ts#normalize[\s\S]*lib\/helper\.ts:1/);
  assertMatch(await page.innerText('[data-section="explain"]'), /Will run:\s*code/);
  assertMatch(await page.innerText('[data-stage="slow"]'), /will run · upstream/);
});

test("page: a failing stage shows as failed, with its error and log", async () => {
  const { ui } = server();
  await using tab = await open(ui);
  const { page } = tab;
  await page.click('[data-stage="broken"]');
  await page.click('[data-panel-stage="broken"] [data-action="run"]');
  await waitStatus(page, "broken", "failed");
  const error = page.locator('[data-section="error"]');
  await error.waitFor();
  assertMatch(await error.innerText(), /the model diverged/);
  await page.waitForSelector('[data-role="log"] .stderr:has-text("about to fail")');
  // Still failed after the prediction that follows the wave.
  await page.waitForTimeout(500);
  assertEquals(await status(page, "broken"), "failed");
});

test("page: two tabs see the same state; a run from one shows in the other", async () => {
  const { ui } = server();
  await using first = await open(ui);
  await using second = await open(ui);
  await recordStatuses(second.page, "slow");
  await first.page.click('[data-stage="slow"]');
  await first.page.click('[data-panel-stage="slow"] [data-action="force"]');
  await waitStatus(second.page, "slow", "ran");
  const seen = await statusesSeen(second.page);
  assert(seen.includes("running"), `statuses seen in the other tab: ${seen.join(" → ")}`);
  const statuses = (page: Page) =>
    page.$$eval(
      "[data-stage]",
      (nodes) =>
        nodes.map((n) => `${n.getAttribute("data-stage")}=${n.getAttribute("data-status")}`).sort(),
    );
  // Both tabs get the same states messages, but not at the same moment, and
  // the wave is followed by refreshes (at its summary, then when its lock
  // files settle) that may land between two reads: wait (bounded) until the
  // two tabs agree.
  let seenBy: [string[], string[]] = [[], []];
  for (const end = Date.now() + 20_000; Date.now() < end;) {
    seenBy = [await statuses(first.page), await statuses(second.page)];
    if (JSON.stringify(seenBy[0]) === JSON.stringify(seenBy[1])) break;
    await second.page.waitForTimeout(50);
  }
  assertEquals(seenBy[0], seenBy[1]);
});

test("page: Cancel stops the running wave; the stage shows as cancelled", async () => {
  const { ui } = server();
  await using tab = await open(ui);
  const { page } = tab;
  await page.click('[data-stage="patient"]');
  await page.click('[data-panel-stage="patient"] [data-action="force"]');
  await waitStatus(page, "patient", "running");
  await page.click('[data-action="cancel"]');
  await waitStatus(page, "patient", "cancelled");
  // The wave is over: nothing left to cancel, and its summary counts the stage.
  await page.waitForSelector('[data-action="cancel"]:disabled');
  assertMatch(await page.innerText('[data-role="wave"]'), /1 cancelled/);
});

test("page: a pipeline that cannot be loaded is reported, and the last good one stays", async () => {
  const { project, ui } = server();
  await using tab = await open(ui);
  const { page } = tab;
  const good = await project.read("pipeline.ts");
  await project.write("pipeline.ts", good + "\nthis is not TypeScript\n");
  try {
    const banner = page.locator('[data-role="problem"]');
    await banner.waitFor({ timeout: 20_000 });
    assertMatch(await banner.innerText(), /cannot be loaded/);
    assertEquals((await page.$$("[data-stage]")).length, STAGES.length);
  } finally {
    await project.write("pipeline.ts", good);
  }
  await page.locator('[data-role="problem"]').waitFor({ state: "detached", timeout: 20_000 });
});

test("page: the Plots tab draws the plots with the plots page's renderer", async () => {
  const { ui } = server();
  await runAndWait(ui, ["curve"]);
  await using tab = await open(ui);
  const { page } = tab;
  await page.click('[data-tab="plots"]');
  const frame = page.frameLocator('[data-role="plots-frame"]');
  const section = frame.locator('[data-plot="build/curve.csv"][data-rendered="true"]');
  await section.waitFor({ timeout: 30_000 });
  assertEquals(await section.getAttribute("data-kind"), "chart");
  assert(await section.locator("svg").count() > 0, "the chart is drawn as SVG");
  // The frame is sandboxed: its scripts cannot reach the UI's page or cookie.
  assertEquals(await page.getAttribute('[data-role="plots-frame"]', "sandbox"), "allow-scripts");
  // The tab is in the address: a reload comes back to it.
  assertMatch(page.url(), /#view=plots/);
  assertEquals(tab.errors, []);
});

test("page: every request the page makes goes to the server itself", async () => {
  const { ui } = server();
  await using tab = await open(ui);
  await tab.page.click('[data-stage="prepare"]');
  await tab.page.waitForSelector('[data-section="deps"]');
  const all = [...requests, ...tab.requests];
  assert(all.length > 5, `requests: ${all}`);
  for (const url of all) assert(url.startsWith(ui.origin + "/"), `a request elsewhere: ${url}`);
});
