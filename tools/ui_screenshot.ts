/**
 * Makes `docs/ui.png`, the README's picture of the web UI: the quickstart
 * pipeline (`examples/quickstart`) in a temporary copy, run once, then its
 * tokenizer edited, so the page shows a stage that will run because of a
 * code change, with the panel explaining which key changed and where.
 *
 * ```sh
 * deno task ui-screenshot
 * ```
 *
 * Needs Chromium (installed with apt-get when missing, as the browser tests
 * do).
 *
 * @module
 */

import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { sharedBrowser } from "../tests/_browser.ts";

const REPO = fileURLToPath(new URL("../", import.meta.url));
const CLI = join(REPO, "cli.ts");
const EXAMPLE = join(REPO, "examples", "quickstart");
/** The picture. */
export const OUTPUT = join(REPO, "docs", "ui.png");

async function copyTree(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const entry of Deno.readDir(from)) {
    if (entry.name === "demo.ts") continue;
    const source = join(from, entry.name);
    if (entry.isDirectory) await copyTree(source, join(to, entry.name));
    else await Deno.copyFile(source, join(to, entry.name));
  }
}

async function pivot(cwd: string, ...args: string[]): Promise<void> {
  const { code, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, ...args],
    cwd,
    stdout: "null",
    stderr: "piped",
  }).output();
  if (code !== 0) throw new Error(`pivot ${args.join(" ")}: ${new TextDecoder().decode(stderr)}`);
}

const project = await Deno.makeTempDir({ prefix: "pivot-ui-shot-" });
const browser = sharedBrowser();
let ui: Deno.ChildProcess | undefined;
try {
  await copyTree(EXAMPLE, project);
  await Deno.writeTextFile(
    join(project, "deno.json"),
    JSON.stringify({ imports: { "jsr:@pivot/core": pathToFileURL(join(REPO, "mod.ts")).href } }),
  );
  await pivot(project, "init");
  await pivot(project, "repro");
  // A real edit: words of one letter now count.
  const text = join(project, "lib", "text.ts");
  const source = await Deno.readTextFile(text);
  const edited = source.replace("word.length > 1", "word.length > 0");
  if (edited === source) throw new Error(`${text}: the expected code to edit is gone`);
  await Deno.writeTextFile(text, edited);

  ui = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, "ui", "--no-open"],
    cwd: project,
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  let output = "";
  const reader = ui.stdout.pipeThrough(new TextDecoderStream()).getReader();
  while (!/Pivot UI: \S+/.test(output)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`pivot ui exited: ${output}`);
    output += value;
  }
  reader.releaseLock();
  const url = /Pivot UI: (\S+)/.exec(output)![1];

  await using tab = await browser.page();
  const { page } = tab;
  await page.setViewportSize({ width: 1280, height: 640 });
  await page.goto(url);
  await page.waitForSelector('[data-stage="featurize"][data-status="will-run"]', {
    timeout: 30_000,
  });
  await page.click('[data-stage="featurize"]');
  await page.waitForSelector('[data-changes="code"]');
  // Let the node's and the panel's last updates land.
  await page.waitForTimeout(500);
  await Deno.mkdir(dirname(OUTPUT), { recursive: true });
  await page.screenshot({ path: OUTPUT });
  if (tab.errors.length > 0) throw new Error(`page errors: ${tab.errors.join("; ")}`);
  console.log(`wrote ${OUTPUT}`);
} finally {
  try {
    ui?.kill("SIGINT");
    await ui?.status;
  } catch {
    // already gone
  }
  await browser.close();
  await Deno.remove(project, { recursive: true }).catch(() => {});
}
