/**
 * `pivot plots show|diff` pages rendered in a real headless Chromium: every
 * template draws its marks, images show, the page loads nothing but itself,
 * and a diff overlays both revisions.
 */

import type { Page } from "playwright-core";
import { toFileUrl } from "../../lib/paths.ts";
import { ensureChromium, sharedBrowser, type TestPage } from "../_browser.ts";
import { plotsProject, rerun } from "./_plots.ts";
import type { TempProject } from "../_project.ts";
import { assert, assertEquals } from "../_assert.ts";
import { afterAll, beforeAll, test } from "../_harness.ts";

const browser = sharedBrowser();
beforeAll(ensureChromium); // a fresh machine's installation, outside any test's time limit
afterAll(() => browser.close());

/**
 * Open the page `pivot plots ARGS` writes, with every request intercepted:
 * anything but the page's own file is recorded and refused, and the browser
 * is offline.
 */
async function openPlots(
  p: TempProject,
  args: string[],
): Promise<{ t: TestPage; refused: string[] }> {
  const result = await p.pivot("plots", ...args);
  assertEquals(result.code, 0, result.stderr);
  const url = result.stdout.trim();
  assertEquals(url, toFileUrl(p.path("pivot_plots/index.html")));
  const t = await browser.page();
  const refused: string[] = [];
  await t.page.context().setOffline(true);
  await t.page.route("**/*", (route) => {
    const requested = route.request().url();
    if (requested === url) return route.continue();
    refused.push(requested);
    return route.abort();
  });
  await t.page.goto(url);
  await t.page.waitForSelector("#pivot-plots[data-ready='true']", { timeout: 30_000 });
  return { t, refused };
}

/** How many elements match `selector` inside the section of plot `path`. */
function count(page: Page, path: string, selector: string): Promise<number> {
  return page.locator(`section[data-plot="${path}"] ${selector}`).count();
}

function texts(page: Page, path: string, selector: string): Promise<string[]> {
  return page.locator(`section[data-plot="${path}"] ${selector}`).allTextContents();
}

/** What the tests read of an `<img>` (no DOM types in Deno's library). */
type Img = { naturalWidth: number; naturalHeight: number; src: string };

const LINES = "svg g.mark-line.role-mark > path";
const POINTS = "svg g.mark-symbol.role-mark > path";
const RECTS = "svg g.mark-rect.role-mark > path";
const CELL_TEXT = "svg g.mark-text.role-mark > text";
const LEGEND = "svg g.mark-text.role-legend-label > text";

test("plots show: each template draws its marks as SVG, images show, nothing is loaded", async () => {
  await using p = await plotsProject();
  const { t, refused } = await openPlots(p, ["show"]);
  await using _ = t;
  const { page } = t;
  const sections = await page.$$eval(
    "section.pivot-plot",
    (nodes) =>
      nodes.map((
        node,
      ) => [node.dataset.plot, node.dataset.kind, node.dataset.rendered ?? node.dataset.error]),
  );
  assertEquals(sections, [
    ["roc.csv", "chart", "true"],
    ["loss.json", "chart", "true"],
    ["points.jsonl", "chart", "true"],
    ["accuracy.tsv", "chart", "true"],
    ["confusion.csv", "chart", "true"],
    ["chart.png", "image", "true"],
    ["badge.svg", "image", "true"],
    ["report.html", "html", "true"],
  ]);
  // linear: one line, a point per row (n + 1 = 5).
  assertEquals([await count(page, "roc.csv", LINES), await count(page, "roc.csv", POINTS)], [
    1,
    5,
  ]);
  // two y columns: two lines of 4 points, a legend naming both.
  assertEquals(await count(page, "loss.json", LINES), 2);
  assertEquals(await texts(page, "loss.json", LEGEND), ["train", "val"]);
  // scatter: a point per row, no line.
  assertEquals([
    await count(page, "points.jsonl", POINTS),
    await count(page, "points.jsonl", LINES),
  ], [4, 0]);
  // bar: a bar per class.
  assertEquals(await count(page, "accuracy.tsv", RECTS), 3);
  // confusion: a cell per (actual, predicted) pair, with its count.
  assertEquals(await count(page, "confusion.csv", RECTS), 3);
  assertEquals((await texts(page, "confusion.csv", CELL_TEXT)).sort(), ["1", "2", "4"]);
  // Images are shown as they are, at their own size.
  const sizes = await page.$$eval(
    "section[data-kind='image'] img",
    (images) =>
      images.map((
        img,
      ) => [(img as unknown as Img).naturalWidth, (img as unknown as Img).naturalHeight]),
  );
  assertEquals(sizes, [[3, 2], [30, 20]]);
  // An HTML plot runs in a sandboxed frame: its script ran.
  const frame = page.frameLocator("section[data-plot='report.html'] iframe");
  assertEquals(await frame.locator("#n").textContent(), "n=4");

  assertEquals(refused, []);
  assert(
    t.requests.every((url) => url.startsWith("file:") || url.startsWith("data:")),
    t.requests.join("\n"),
  );
  assertEquals(t.errors, []);
});

test("plots diff: each chart overlays HEAD and the workspace; images side by side", async () => {
  await using p = await plotsProject();
  await rerun(p, 6, "blue");
  const { t, refused } = await openPlots(p, ["diff"]);
  await using _ = t;
  const { page } = t;
  assertEquals(await page.locator(".pivot-subtitle").textContent(), "HEAD vs workspace");
  // One line per revision, points of both (5 at HEAD, 7 now), a legend naming both.
  assertEquals([await count(page, "roc.csv", LINES), await count(page, "roc.csv", POINTS)], [
    2,
    12,
  ]);
  assertEquals(await texts(page, "roc.csv", LEGEND), ["HEAD", "workspace"]);
  // Two columns × two revisions: columns by colour, revisions by dash.
  assertEquals(await count(page, "loss.json", LINES), 4);
  assertEquals(await texts(page, "loss.json", LEGEND), ["train", "val", "HEAD", "workspace"]);
  assertEquals(await count(page, "points.jsonl", POINTS), 10);
  assertEquals(await count(page, "accuracy.tsv", RECTS), 6);
  // One matrix per revision: cat→cat counted 4 times at HEAD, 6 times now.
  assertEquals((await texts(page, "confusion.csv", CELL_TEXT)).sort(), [
    "1",
    "1",
    "2",
    "2",
    "4",
    "6",
  ]);
  const figures = await page.$$eval(
    "section[data-plot='badge.svg'] figure",
    (nodes) =>
      nodes.map((
        node,
      ) => [node.textContent, (node.querySelector("img") as unknown as Img).naturalWidth]),
  );
  assertEquals(figures, [["HEAD", 30], ["workspace", 30]]);
  const sources = await page.$$eval(
    "section[data-plot='badge.svg'] img",
    (images) => images.map((img) => atob((img as unknown as Img).src.split(",")[1])),
  );
  assert(
    sources[0].includes('fill="red"') && sources[1].includes('fill="blue"'),
    sources.join("\n"),
  );
  assertEquals(refused, []);
  assertEquals(t.errors, []);
});
