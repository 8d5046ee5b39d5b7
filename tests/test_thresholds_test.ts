/**
 * `PIVOT_TEST_THRESHOLDS=small` (lib/test_thresholds.ts): the production
 * thresholds when it is absent, another value, or not readable (no env
 * permission, a sandboxed worker); the small ones when it is `small`, in
 * the process and in the workers it starts. Each case in a process of its
 * own (the thresholds are read once, when the modules load), whatever this
 * process's own environment.
 */

import { assertEquals } from "./_assert.ts";
import { output, test } from "./_harness.ts";
import { tempDir } from "./_project.ts";

const VARIABLE = "PIVOT_TEST_THRESHOLDS";

/** The thresholds a process reads, by name. */
type Thresholds = Record<string, number | boolean>;

const PRODUCTION: Thresholds = {
  small: false,
  PARALLEL_FROM: 16_384,
  PARALLEL_FROM_STARTED: 4_096,
  BLOCK: 128,
  LIBC_STAT_FROM: 4_096,
  LIBC_LISTING_FROM: 4_096,
  WRITER_FROM: 2_048,
  CHUNK_STAMPS: 1_000,
  CHUNKED_FROM: 1_000,
  MAX_GATE_FILES: 16_384,
};

const SMALL: Thresholds = {
  small: true,
  PARALLEL_FROM: 512,
  PARALLEL_FROM_STARTED: 128,
  BLOCK: 4,
  LIBC_STAT_FROM: 128,
  LIBC_LISTING_FROM: 128,
  WRITER_FROM: 64,
  CHUNK_STAMPS: 32,
  CHUNKED_FROM: 32,
  MAX_GATE_FILES: 512,
};

const lib = (path: string) => new URL(`../lib/${path}`, import.meta.url).href;

/** Code that reads the thresholds into `read` (then printed, or posted by a worker). */
const READ = `import { smallThresholds } from "${lib("test_thresholds.ts")}";
import { BLOCK, LIBC_STAT_FROM, PARALLEL_FROM, PARALLEL_FROM_STARTED } from "${
  lib("storage/stat_many.ts")
}";
import { LIBC_LISTING_FROM } from "${lib("storage/artifact_hash.ts")}";
import { WRITER_FROM } from "${lib("storage/object_writer.ts")}";
import { CHUNK_STAMPS, CHUNKED_FROM } from "${lib("storage/state.ts")}";
import { MAX_GATE_FILES } from "${lib("noop_stamps.ts")}";
const read = {
  small: smallThresholds, PARALLEL_FROM, PARALLEL_FROM_STARTED, BLOCK, LIBC_STAT_FROM,
  LIBC_LISTING_FROM, WRITER_FROM, CHUNK_STAMPS, CHUNKED_FROM, MAX_GATE_FILES,
};
`;

/** A main module that prints what it reads. */
const MAIN = `${READ}console.log(JSON.stringify(read));\n`;

/**
 * Run `code` (a module) as `deno run` with `permissions` flags, with the
 * variable set to `value` (absent when undefined), stdin closed (a prompt
 * would fail): its output parsed.
 */
async function readIn(
  code: string,
  value: string | undefined,
  permissions: string[] = ["-A"],
): Promise<Thresholds> {
  await using dir = await tempDir();
  const main = dir.path("main.ts");
  await Deno.writeTextFile(main, code);
  const env: Record<string, string> = { ...Deno.env.toObject(), NO_COLOR: "1" };
  delete env[VARIABLE];
  if (value !== undefined) env[VARIABLE] = value;
  const run = await output(Deno.execPath(), {
    args: ["run", "--unstable-worker-options", ...permissions, main],
    env,
    clearEnv: true,
    stdin: "null",
  });
  const [stdout, stderr] = [run.stdout, run.stderr].map((b) => new TextDecoder().decode(b));
  assertEquals(run.code, 0, stderr);
  return JSON.parse(stdout);
}

test("without PIVOT_TEST_THRESHOLDS, or with another value, the production thresholds", async () => {
  assertEquals(await readIn(MAIN, undefined), PRODUCTION);
  assertEquals(await readIn(MAIN, "large"), PRODUCTION);
  assertEquals(await readIn(MAIN, ""), PRODUCTION);
});

test("PIVOT_TEST_THRESHOLDS=small gives the small thresholds, keeping their order", async () => {
  const small = await readIn(MAIN, "small");
  assertEquals(small, SMALL);
  // The orders the code relies on: a helper list makes several blocks, a
  // helper started ahead is used from fewer items than one started for a list.
  const n = small as Record<string, number>;
  assertEquals(n.PARALLEL_FROM_STARTED / n.BLOCK >= 16, true);
  assertEquals(n.PARALLEL_FROM > n.PARALLEL_FROM_STARTED, true);
  assertEquals(n.CHUNKED_FROM, n.CHUNK_STAMPS);
  // Past the launcher gate's files, the child's walk is on two threads.
  assertEquals(n.MAX_GATE_FILES, n.PARALLEL_FROM);
});

test("PIVOT_TEST_THRESHOLDS without env permission: production thresholds, no prompt, no error", async () => {
  const readOnly = ["--allow-read"];
  assertEquals(await readIn(MAIN, "small", readOnly), PRODUCTION);
  // Another variable allowed, not this one.
  assertEquals(await readIn(MAIN, "small", [...readOnly, "--allow-env=HOME"]), PRODUCTION);
  assertEquals(await readIn(MAIN, "small", [...readOnly, `--allow-env=${VARIABLE}`]), SMALL);
});

test("workers: one inheriting the permissions reads the small thresholds, a sandboxed one (no env) the production ones", async () => {
  await using dir = await tempDir();
  const reader = dir.path("reader.ts");
  await Deno.writeTextFile(reader, `${READ}self.postMessage(read);\n`);
  const code = `const url = ${JSON.stringify(new URL(`file://${reader}`).href)};
function read(options) {
  const worker = new Worker(url, { type: "module", ...options });
  return new Promise((resolve, reject) => {
    worker.onmessage = (e) => { resolve(e.data); worker.terminate(); };
    worker.onerror = (e) => { e.preventDefault(); reject(new Error(e.message)); worker.terminate(); };
  });
}
const inherited = await read({});
const sandboxed = await read({
  deno: { permissions: { read: true, env: false, net: false, run: false, write: false, ffi: false, sys: false } },
});
console.log(JSON.stringify({ inherited, sandboxed }));
`;
  const seen = await readIn(code, "small") as unknown as Record<string, Thresholds>;
  assertEquals(seen, { inherited: SMALL, sandboxed: PRODUCTION });
});
