/**
 * Watch-mode latency: the time from a file save to the affected stage
 * starting, with the debounce subtracted (target: under 100 ms).
 *
 * A temporary project runs `pivot repro --watch --json`; its stages record
 * `Date.now()` when their run function starts. The script saves a dep (data
 * change) or a helper module (code change: reload in a fresh isolate,
 * re-fingerprint, new workers), waits for the wave, and subtracts the save
 * time and the debounce from the recorded start. Code is saved two ways: a
 * text some earlier run saved too (`v1`, `v2`, …: its analysis is in the
 * user-global cache after one run on a machine), and a text no run saved
 * before (a random tag: TypeScript parses it), as a real edit is.
 *
 * ```sh
 * deno run -A bench/watch_latency.ts            # 7 saves of each kind
 * PIVOT_BENCH_REPS=3 deno run -A bench/watch_latency.ts
 * ```
 *
 * @module
 */

import { join } from "node:path";
import { REPO } from "./_tools.ts";

const DEBOUNCE_MS = 300;
const REPS = Number(Deno.env.get("PIVOT_BENCH_REPS") ?? 7);

const PIPELINE = `import { dep, loaders, out, Pipeline } from "jsr:@pivot/core";
import { tag } from "./lib/tag.ts";
export const pipeline = new Pipeline("latency");
pipeline.stage({
  name: "data_stage",
  deps: { src: dep("data/input.txt", loaders.text()) },
  outs: { o: out("build/data.json", loaders.json<{ start: number }>()) },
  run: ({ src }) => ({ o: { start: Date.now(), length: src.length } }),
});
pipeline.stage({
  name: "code_stage",
  outs: { o: out("build/code.json", loaders.json<{ start: number }>()) },
  run: () => ({ o: { start: Date.now(), tag: tag() } }),
});
`;

const helper = (tag: string) => `export function tag(): string {\n  return "${tag}";\n}\n`;

async function write(path: string, text: string): Promise<void> {
  await Deno.mkdir(join(path, ".."), { recursive: true });
  await Deno.writeTextFile(path, text);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const dir = await Deno.makeTempDir({ prefix: "pivot-latency-" });
const cli = join(REPO, "cli.ts");
let child: Deno.ChildProcess | undefined;
try {
  await write(
    join(dir, "deno.json"),
    JSON.stringify({ imports: { "jsr:@pivot/core": `file://${REPO}/mod.ts` } }),
  );
  await write(join(dir, "pipeline.ts"), PIPELINE);
  await write(join(dir, "lib/tag.ts"), helper("v0"));
  await write(join(dir, "data/input.txt"), "0");
  const init = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", cli, "init"],
    cwd: dir,
  })
    .output();
  if (!init.success) throw new Error("pivot init failed");

  child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", cli, "repro", "--watch", "--json", "--debounce", String(DEBOUNCE_MS)],
    cwd: dir,
    stdout: "piped",
    stderr: "null",
  }).spawn();
  let summaries = 0;
  let wake: (() => void) | undefined;
  (async () => {
    for await (const chunk of child!.stdout.pipeThrough(new TextDecoderStream())) {
      summaries += chunk.split("\n").filter((line) => line.includes(`"type":"summary"`)).length;
      wake?.();
    }
  })();
  const waveAfter = async (count: number) => {
    const deadline = Date.now() + 20_000;
    while (summaries <= count) {
      if (Date.now() > deadline) throw new Error("no wave within 20 s");
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 50);
      });
    }
  };
  await waveAfter(0);

  const measure = async (save: () => Promise<void>, out: string): Promise<number> => {
    const before = summaries;
    await new Promise((resolve) => setTimeout(resolve, 400)); // let the watcher settle
    await save();
    const saved = Date.now();
    await waveAfter(before);
    const { start } = JSON.parse(await Deno.readTextFile(join(dir, out)));
    return start - saved - DEBOUNCE_MS;
  };

  const data: number[] = [];
  const code: number[] = [];
  const fresh: number[] = [];
  for (let i = 1; i <= REPS; i++) {
    data.push(
      await measure(() => write(join(dir, "data/input.txt"), "x".repeat(i)), "build/data.json"),
    );
    code.push(
      await measure(() => write(join(dir, "lib/tag.ts"), helper(`v${i}`)), "build/code.json"),
    );
    const unseen = helper(crypto.randomUUID());
    fresh.push(await measure(() => write(join(dir, "lib/tag.ts"), unseen), "build/code.json"));
  }
  const row = (name: string, values: number[]) =>
    `| ${name} | ${median(values).toFixed(0)} ms | ${Math.min(...values)}–${
      Math.max(...values)
    } ms | ${values.length} | ${median(values) < 100 ? "yes" : "no"} |`;
  console.log(
    [
      `Debounce ${DEBOUNCE_MS} ms, subtracted. Target: under 100 ms.`,
      "",
      "| Change | Save → stage start (median) | min–max | n | Under 100 ms |",
      "| --- | --- | --- | --- | --- |",
      row("data (a dep edited)", data),
      row("code (a helper module edited: reload, re-fingerprint, new workers)", code),
      row("new code (as above, a text no run saved before: TypeScript parses it)", fresh),
    ].join("\n"),
  );
} finally {
  try {
    child?.kill("SIGINT");
    await child?.status;
  } catch {
    // already gone
  }
  await Deno.remove(dir, { recursive: true }).catch(() => {});
}
