/**
 * Web UI speed on the benchmark pipeline (issue 13's targets):
 *
 * - serving: from starting `pivot ui` to its page being served (target
 *   under 1 s), and to every stage's status being known; beside it, a
 *   no-op `pivot status` on the same project, which works out the same
 *   statuses (the ratio is the UI's own start-up cost);
 * - first render in headless Chromium: from navigation to every stage node
 *   drawn (target under 1 s), and to every status shown;
 * - event latency: from the engine emitting a stage event (the server stamps
 *   each message with the time it sends it, synchronously with the
 *   engine's emit) to the node's `data-status` changing in the page
 *   (target under 100 ms). Both clocks are this machine's.
 *
 * ```sh
 * deno run -A bench/ui_speed.ts                  # 176 stages, 5 repetitions
 * deno run -A bench/ui_speed.ts --stages 44 --reps 3
 * ```
 *
 * Needs Chromium (installed with apt-get when missing, as the browser tests
 * do). Prints a Markdown table.
 *
 * @module
 */

import { join } from "node:path";
import { parseArgs } from "node:util";
import { sharedBrowser } from "../tests/_browser.ts";
import { generatePipeline } from "./gen_pipeline.ts";
import { REPO } from "./_tools.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { stages: { type: "string", default: "176" }, reps: { type: "string", default: "5" } },
});
const STAGES = Number(values.stages);
const REPS = Math.max(1, Number(values.reps));
const CLI = join(REPO, "cli.ts");

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
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

/** A `pivot ui` process, with the time its page was first served. */
interface Served {
  readonly child: Deno.ChildProcess;
  readonly url: string;
  readonly token: string;
  readonly origin: string;
  /** Spawn → page served (ms). */
  readonly serving: number;
  /** Spawn → every status known (ms). */
  readonly statuses: number;
}

async function startUi(cwd: string): Promise<Served> {
  const started = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, "ui", "--no-open"],
    cwd,
    stdout: "piped",
    stderr: "null",
  }).spawn();
  let output = "";
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  while (!/Pivot UI: \S+/.test(output)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`pivot ui exited: ${output}`);
    output += value;
  }
  // Keep draining stdout so the child never blocks on a full pipe.
  (async () => {
    while (!(await reader.read()).done) { /* drain */ }
  })().catch(() => {});
  const url = /Pivot UI: (\S+)/.exec(output)![1];
  const { origin, searchParams } = new URL(url);
  const token = searchParams.get("token")!;
  const headers = { authorization: `token ${token}` };
  let serving = 0;
  while (serving === 0) {
    const response = await fetch(`${origin}/`, { headers }).catch(() => undefined);
    await response?.body?.cancel();
    if (response?.ok) serving = performance.now() - started;
  }
  let statuses = 0;
  while (statuses === 0) {
    const snapshot = await (await fetch(`${origin}/api/snapshot`, { headers })).json();
    if (
      !Object.values(snapshot.states).some((s) => (s as { status: string }).status === "checking")
    ) {
      statuses = performance.now() - started;
    } else await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return { child, url, token, origin, serving, statuses };
}

async function stopUi(served: Served): Promise<void> {
  served.child.kill("SIGINT");
  await served.child.status;
}

const dir = await Deno.makeTempDir({ prefix: "pivot-ui-bench-" });
const browser = sharedBrowser();
try {
  await generatePipeline(dir, { stages: STAGES });
  await pivot(dir, "init");
  await pivot(dir, "repro");

  // 1. Serving, beside a no-op `pivot status` (warm-up runs first).
  await pivot(dir, "status");
  await stopUi(await startUi(dir));
  const serving: number[] = [];
  const statuses: number[] = [];
  const status: number[] = [];
  for (let i = 0; i < REPS; i++) {
    const served = await startUi(dir);
    serving.push(served.serving);
    statuses.push(served.statuses);
    await stopUi(served);
    const t = performance.now();
    await pivot(dir, "status");
    status.push(performance.now() - t);
  }

  // 2. First render, and 3. event latency, on one server.
  const served = await startUi(dir);
  const render: number[] = [];
  const renderStatuses: number[] = [];
  const latency: number[] = [];
  try {
    for (let i = 0; i <= REPS; i++) {
      await using tab = await browser.page();
      await tab.page.setViewportSize({ width: 1400, height: 900 });
      // Marks taken in the page, relative to the navigation's start.
      await tab.page.addInitScript(`(() => {
        const marks = window.__marks = {};
        new MutationObserver(() => {
          const nodes = document.querySelectorAll("[data-stage]");
          if (nodes.length === ${STAGES} && marks.drawn === undefined) marks.drawn = performance.now();
          if (nodes.length === ${STAGES} && marks.statuses === undefined &&
              !document.querySelector('[data-status="checking"]')) marks.statuses = performance.now();
        }).observe(document, { subtree: true, childList: true, attributes: true });
      })()`);
      await tab.page.goto(served.url);
      // Polled from outside: the page's CSP forbids evaluating predicate strings in it.
      const deadline = Date.now() + 30_000;
      while (
        await tab.page.evaluate("window.__marks && window.__marks.statuses") === undefined
      ) {
        if (Date.now() > deadline) throw new Error("the page did not finish rendering");
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const marks = await tab.page.evaluate("window.__marks") as {
        drawn: number;
        statuses: number;
      };
      // The first visit warms the browser's caches, as a user's second visit would be.
      if (i > 0) {
        render.push(marks.drawn);
        renderStatuses.push(marks.statuses);
      }
      if (i === REPS) latency.push(...await eventLatency(served, tab.page));
    }
  } finally {
    await stopUi(served);
  }

  const row = (name: string, values: readonly number[], target: number | undefined, anchor = "—") =>
    `| ${name} | ${median(values).toFixed(0)} ms | ${Math.min(...values).toFixed(0)}–${
      Math.max(...values).toFixed(0)
    } ms | ${values.length} | ${target === undefined ? "—" : `< ${target} ms`} | ${
      target === undefined ? "—" : median(values) < target ? "yes" : "**no**"
    } | ${anchor} |`;
  const ratio = median(serving) / median(status);
  console.log([
    `${STAGES}-stage benchmark pipeline (bench/gen_pipeline.ts), up to date.`,
    "",
    "| Figure | Median | min–max | n | Target | Met | Anchor in this run |",
    "| --- | --- | --- | --- | --- | --- | --- |",
    row(
      "`pivot ui`: start → page served",
      serving,
      1000,
      `\`pivot status\` ${median(status).toFixed(0)} ms (ui ÷ status ${ratio.toFixed(2)}×)`,
    ),
    row("`pivot ui`: start → every status known", statuses, undefined),
    row("first render: navigation → every node drawn", render, 1000),
    row("first render: navigation → every status shown", renderStatuses, undefined),
    row("event latency: engine emit → node status in the page", latency, 100),
  ].join("\n"));
} finally {
  await browser.close();
  await Deno.remove(dir, { recursive: true }).catch(() => {});
}

/**
 * Force-run one stage a few times; for each `running` and `ran` state
 * message, the time from the server sending it to the node showing that
 * status. Each run is measured on its own, so a message is never paired with
 * another run's change.
 */
async function eventLatency(
  served: Served,
  page: import("playwright-core").Page,
): Promise<number[]> {
  const stage = `s${Math.min(5, STAGES - 1)}`;
  await page.evaluate(`(() => {
    window.__seen = [];
    let last = "";
    new MutationObserver(() => {
      const status = document.querySelector('[data-stage="${stage}"]')?.getAttribute("data-status");
      if (status && status !== last) { window.__seen.push({ status, at: Date.now() }); last = status; }
    }).observe(document.body, { subtree: true, attributes: true, attributeFilter: ["data-status"] });
  })()`);
  const headers = { authorization: `token ${served.token}` };
  const response = await fetch(`${served.origin}/api/events`, { headers });
  let sent: { status: string; t: number }[] = [];
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  const reading = (async () => {
    let buffer = "";
    while (true) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      for (let end = buffer.indexOf("\n\n"); end >= 0; end = buffer.indexOf("\n\n")) {
        const data = buffer.slice(0, end).split("\n").find((l) => l.startsWith("data: "));
        buffer = buffer.slice(end + 2);
        if (!data) continue;
        const message = JSON.parse(data.slice(6));
        const state = message.type === "states" ? message.states[stage] : undefined;
        if (state) sent.push({ status: state.status, t: message.t });
      }
    }
  })();
  const latencies: number[] = [];
  for (let i = 0; i < REPS * 2; i++) {
    sent = [];
    await page.evaluate("window.__seen.length = 0");
    await fetch(`${served.origin}/api/run`, {
      method: "POST",
      headers: { ...headers, "content-type": "application/json" },
      body: JSON.stringify({ stages: [stage], force: true }),
    }).then((r) => r.body?.cancel());
    const deadline = Date.now() + 20_000;
    let seen: { status: string; at: number }[] = [];
    while (Date.now() < deadline) {
      seen = await page.evaluate("window.__seen") as { status: string; at: number }[];
      if (sent.some((m) => m.status === "ran") && seen.some((s) => s.status === "ran")) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    for (const wanted of ["running", "ran"]) {
      const message = sent.find((m) => m.status === wanted);
      const shown = seen.find((s) => s.status === wanted);
      if (message && shown) latencies.push(Math.max(0, shown.at - message.t));
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  await reader.cancel();
  await reading.catch(() => {});
  if (latencies.length === 0) throw new Error("no status change seen in the page");
  return latencies;
}
