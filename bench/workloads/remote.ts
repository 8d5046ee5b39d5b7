/**
 * Workload `remote` (issue 12): Pivot's transfer layer (lib/remote/, run as
 * `bench/remote_transfer.ts`) beside Debian's `rclone`, both against the same
 * loopback S3 server (s3rver, started here): many small files and one large
 * file, each way; the requests of a no-op push; peak memory of a large push.
 *
 * Sizes (full / `--quick`): 2,000 / 500 files of 4 KiB; one 256 / 64 MiB
 * file; a no-op push of 10,000 / 2,000 objects; a 1 GiB / 256 MiB push for
 * peak memory.
 *
 * @module
 */

import { join } from "node:path";
import type { BenchContext } from "../_context.ts";
import {
  measured,
  type Measurement,
  progress,
  repeat,
  type Run,
  stats,
  type TimeOptions,
} from "../_measure.ts";
import { cpuCell, cpuRatio, ratio, rssCell, type Section, table, wallCell } from "../_report.ts";
import { mustRun, onPath, pivotCommand, removeAll, REPO } from "../_tools.ts";
import { NS, StateStore } from "../../lib/storage/state.ts";
import { writeBigFile } from "./hashing.ts";
import { startS3rver } from "../../tests/remote/_s3rver.ts";
import { Cache } from "../../lib/storage/cache.ts";
import { hashFile } from "../../lib/storage/hash.ts";

const BUCKET = "pivot-bench";
const JOBS = 4 * (navigator.hardwareConcurrency || 1);
const MiB = 1 << 20;

interface Sizes {
  smallFiles: number;
  bigFile: number;
  noopObjects: number;
  memoryFile: number;
}

const FULL: Sizes = {
  smallFiles: 2000,
  bigFile: 256 * MiB,
  noopObjects: 10_000,
  memoryFile: 1024 * MiB,
};
const QUICK: Sizes = {
  smallFiles: 500,
  bigFile: 64 * MiB,
  noopObjects: 2_000,
  memoryFile: 256 * MiB,
};

/** A set of files, both as plain files (for rclone) and as Pivot cache objects. */
interface Fileset {
  /** Plain files. */
  plain: string;
  /** The Pivot side: `cache/`, `state/`, and `targets.json`. */
  project: string;
}

/** Write `count` files of `size` bytes into a plain folder and a Pivot cache (hard links). */
async function makeFileset(dir: string, count: number, size: number): Promise<Fileset> {
  const plain = join(dir, "plain");
  const project = join(dir, "project");
  await Deno.mkdir(plain, { recursive: true });
  const cache = new Cache(join(project, "cache"));
  const targets = [];
  for (let i = 0; i < count; i++) {
    const path = join(plain, `f${String(i).padStart(6, "0")}`);
    if (size > 16 * MiB) await writeBigFile(path, size);
    else {
      const bytes = new Uint8Array(size);
      crypto.getRandomValues(bytes.subarray(0, Math.min(size, 65536)));
      new DataView(bytes.buffer).setUint32(0, i);
      await Deno.writeFile(path, bytes);
    }
    const hash = await hashFile(path);
    await cache.storeFile(path, hash, true);
    targets.push({ hash, isDir: false });
  }
  await Deno.writeTextFile(join(project, "targets.json"), JSON.stringify(targets));
  return { plain, project };
}

interface PivotRun {
  summary: { transferred: number; skipped: number; failed: number; bytes: number };
  stats: { requests: number; lists: number };
  problems: string[];
}

function parsePivot(stdout: string): PivotRun | undefined {
  try {
    return JSON.parse(stdout.trim().split("\n").at(-1)!);
  } catch {
    return undefined;
  }
}

/** One command of {@link interleaved}. */
interface Timed {
  argv: string[];
  time: TimeOptions;
  label: string;
  before?: () => Promise<void>;
  check?: (run: Run) => string | undefined;
}

/**
 * Time `commands` in turn, one repetition of each at a time (after one
 * warm-up of each), so that a change in the machine's load hits them alike.
 * An undefined command is not run (its result is undefined).
 */
async function interleaved(
  reps: number,
  commands: readonly (Timed | undefined)[],
): Promise<(Measurement | undefined)[]> {
  const samples = commands.map(() => ({
    wall: [] as number[],
    rss: [] as number[],
    cpu: [] as number[],
  }));
  const failures: (string | undefined)[] = commands.map(() => undefined);
  for (let rep = 0; rep <= reps; rep++) {
    for (const [i, command] of commands.entries()) {
      if (!command || failures[i]) continue;
      const m = await repeat(command.argv, command.time, {
        label: command.label,
        reps: 1,
        ...(command.before ? { before: command.before } : {}),
        ...(command.check ? { check: command.check } : {}),
      });
      if (!measured(m)) {
        failures[i] = "failed" in m ? m.failed : "no figure";
        continue;
      }
      if (rep === 0) continue; // warm-up
      samples[i]!.wall.push(m.wall.median);
      if (m.rss) samples[i]!.rss.push(m.rss.median);
      if (m.cpu) samples[i]!.cpu.push(m.cpu.median);
    }
  }
  return commands.map((command, i) => {
    if (!command) return undefined;
    if (failures[i]) return { failed: failures[i]! };
    return {
      wall: stats(samples[i]!.wall)!,
      rss: stats(samples[i]!.rss),
      cpu: stats(samples[i]!.cpu),
    };
  });
}

/** The JSON line a `pivot push|pull --json` prints. */
function parseJsonLine(stdout: string): Record<string, number> | undefined {
  try {
    return JSON.parse(stdout.trim().split("\n").at(-1)!);
  } catch {
    return undefined;
  }
}

/** A check that `pivot push|pull --json` moved `expected` objects and none failed. */
function checkCli(expected: number) {
  return (run: { stdout: string; stderr: string }) => {
    const result = parseJsonLine(run.stdout);
    if (!result) {
      return `no JSON from pivot: ${run.stdout.slice(0, 100)} ${run.stderr.slice(0, 200)}`;
    }
    if (result.failed > 0) return `${result.failed} failed: ${run.stderr.slice(0, 200)}`;
    if (result.transferred !== expected) {
      return `transferred ${result.transferred}, expected ${expected}`;
    }
    return undefined;
  };
}

/**
 * One stage that writes `count` random files of `size` bytes into `data/`
 * (or, for one, the file `data.bin`).
 */
function generatorPipeline(count: number, size: number): string {
  const path = count === 1 ? "data.bin" : "data/";
  return `import { loaders, out, Pipeline } from "jsr:@pivot/core";
export const pipeline = new Pipeline("bench");
pipeline.stage({
  name: "generate",
  outs: { data: out("${path}", loaders.pathOnly()) },
  run: async (_deps, ctx) => {
    const block = new Uint8Array(Math.min(${size}, 1 << 20));
    const fill = () => {
      for (let i = 0; i < block.length; i += 65536) {
        crypto.getRandomValues(block.subarray(i, Math.min(i + 65536, block.length)));
      }
    };
    const write = async (file: string, size: number) => {
      using handle = await Deno.open(file, { write: true, create: true, truncate: true });
      for (let offset = 0, n = 0; offset < size; offset += block.length, n++) {
        new DataView(block.buffer).setUint32(0, n);
        const chunk = block.subarray(0, Math.min(block.length, size - offset));
        for (let done = 0; done < chunk.length;) done += await handle.write(chunk.subarray(done));
      }
    };
    if (${count} === 1) {
      fill();
      await write(ctx.outs.data, ${size});
      return {};
    }
    for (let i = 0; i < ${count}; i++) {
      fill();
      await write(\`\${ctx.outs.data}/f\${String(i).padStart(6, "0")}\`, ${size});
    }
    return {};
  },
});
`;
}

/** Projects for the CLI rows: A ran its stage; B is A without cache, state or outs. */
class CliProjects {
  #made = 0;
  constructor(readonly dir: string, readonly endpoint: string, readonly bucketDir: string) {}

  async create(count: number, size: number) {
    const n = ++this.#made;
    const a = join(this.dir, `a${n}`);
    const b = join(this.dir, `b${n}`);
    const prefix = `cli${n}`;
    const out = count === 1 ? "data.bin" : "data";
    await Deno.mkdir(a, { recursive: true });
    await Deno.writeTextFile(
      join(a, "deno.json"),
      JSON.stringify({ imports: { "jsr:@pivot/core": `file://${REPO}/mod.ts` } }),
    );
    await Deno.writeTextFile(join(a, "pipeline.ts"), generatorPipeline(count, size));
    await mustRun([...pivotCommand(), "init"], a);
    await mustRun(
      [...pivotCommand(), "remote", "add", "bench", `s3://${BUCKET}/${prefix}`, "-d"],
      a,
    );
    await mustRun([...pivotCommand(), "config", "set", "remotes.bench.endpoint", this.endpoint], a);
    await mustRun([...pivotCommand(), "config", "set", "remotes.bench.jobs", String(JOBS)], a);
    for (const key of ["access_key_id", "secret_access_key"]) {
      await mustRun([
        ...pivotCommand(),
        "config",
        "set",
        `remotes.bench.${key}`,
        "S3RVER",
        "--local",
      ], a);
    }
    await mustRun([...pivotCommand(), "repro"], a);
    // rclone copies the same files: a plain copy beside the project.
    const plain = join(this.dir, `plain${n}`);
    await Deno.mkdir(plain, { recursive: true });
    if (count === 1) await Deno.copyFile(join(a, out), join(plain, out));
    else {
      for await (const entry of Deno.readDir(join(a, out))) {
        await Deno.copyFile(join(a, out, entry.name), join(plain, entry.name));
      }
    }
    await Deno.mkdir(join(b, ".pivot", "stages"), { recursive: true });
    for (
      const file of [
        "deno.json",
        "pipeline.ts",
        ".pivot/config.yaml",
        ".pivot/config.local.yaml",
        ".pivot/.gitignore",
      ]
    ) {
      await Deno.copyFile(join(a, file), join(b, file));
    }
    for await (const lock of Deno.readDir(join(a, ".pivot", "stages"))) {
      await Deno.copyFile(
        join(a, ".pivot", "stages", lock.name),
        join(b, ".pivot", "stages", lock.name),
      );
    }
    const forget = async (project: string) => {
      const state = await StateStore.open(join(project, ".pivot", "state"));
      for (const { key } of await state.list([NS.remote])) await state.delete(key);
      await state.close();
    };
    return {
      a,
      b,
      plain,
      /** Nothing on the remote, and A's index of it forgotten. */
      emptyRemote: async () => {
        await removeAll(join(this.bucketDir, prefix));
        await forget(a);
      },
      /** A's index of the remote forgotten (as in a fresh clone). */
      forgetRemote: () => forget(a),
      /** B as a fresh clone: no cache, no state, no outs. */
      emptyClone: async () => {
        for (const path of [".pivot/cache", ".pivot/state", ".pivot/tmp", out]) {
          await removeAll(join(b, path));
        }
      },
      remove: async () => {
        await removeAll(a);
        await removeAll(b);
        await removeAll(plain);
        await removeAll(join(this.bucketDir, prefix));
      },
    };
  }
}

/** Install rclone from Debian when it is missing; undefined when usable. */
async function ensureRclone(): Promise<string | undefined> {
  if (await onPath("rclone")) return undefined;
  progress("remote: installing rclone (apt-get install -y rclone)");
  const install = await new Deno.Command("apt-get", {
    args: ["install", "-y", "rclone"],
    stdout: "null",
    stderr: "null",
  })
    .output().catch(() => undefined);
  if (await onPath("rclone")) return undefined;
  return install ? `apt-get install rclone failed (exit ${install.code})` : "apt-get not available";
}

/** Run the workload and report. */
export async function remoteWorkload(ctx: BenchContext): Promise<Section> {
  const quick = ctx.options.quick;
  const sizes = quick ? QUICK : FULL;
  const reps = ctx.options.reps;
  const dir = `${ctx.options.workDir}/remote`;
  await removeAll(dir);
  await Deno.mkdir(dir, { recursive: true });
  const rcloneMissing = await ensureRclone();
  await using server = await startS3rver(BUCKET);
  const bucketDir = join(server.dir, BUCKET);

  const pivotEnv = { AWS_ACCESS_KEY_ID: "S3RVER", AWS_SECRET_ACCESS_KEY: "S3RVER" };
  const rcloneEnv = {
    RCLONE_CONFIG_BENCH_TYPE: "s3",
    RCLONE_CONFIG_BENCH_PROVIDER: "Other",
    RCLONE_CONFIG_BENCH_ACCESS_KEY_ID: "S3RVER",
    RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY: "S3RVER",
    RCLONE_CONFIG_BENCH_ENDPOINT: server.endpoint,
    RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE: "true",
    RCLONE_CONFIG_BENCH_REGION: "us-east-1",
    // A CA bundle set for other tools makes rclone refuse plain HTTP endpoints.
    AWS_CA_BUNDLE: "",
  };
  const pivotArgv = (verb: string, project: string, prefix: string) => [
    Deno.execPath(),
    "run",
    "-A",
    `${REPO}/bench/remote_transfer.ts`,
    verb,
    project,
    `s3://${BUCKET}/${prefix}`,
    server.endpoint,
    join(project, "targets.json"),
    String(JOBS),
  ];
  const rcloneArgv = (from: string, to: string) => [
    "rclone",
    "copy",
    from,
    to,
    "--transfers",
    String(JOBS),
    "--checkers",
    String(JOBS),
  ];
  const checkPivot = (expected: number) => (run: { stdout: string }) => {
    const result = parsePivot(run.stdout);
    if (!result) return `no JSON from remote_transfer.ts: ${run.stdout.slice(0, 100)}`;
    if (result.summary.failed > 0) return `${result.summary.failed} failed: ${result.problems[0]}`;
    if (result.summary.transferred !== expected) {
      return `transferred ${result.summary.transferred}, expected ${expected}`;
    }
    return undefined;
  };

  interface Row {
    name: string;
    pivot: Measurement;
    rclone: Measurement;
    target: string;
    limit: number;
  }
  const rows: Row[] = [];
  const both = async (
    name: string,
    fileset: Fileset,
    count: number,
    limits: { push: number; pull: number },
  ) => {
    // Push: a fresh prefix each run (its objects removed on the server) and
    // a cold index. Each repetition of Pivot is followed by one of rclone.
    const [push, rpush] = await interleaved(reps, [
      {
        argv: pivotArgv("push", fileset.project, "pv"),
        time: { cwd: dir, env: pivotEnv },
        label: `remote: ${name} push, Pivot`,
        before: async () => {
          await removeAll(join(bucketDir, "pv"));
          await removeAll(join(fileset.project, "state"));
        },
        check: checkPivot(count),
      },
      rcloneMissing ? undefined : {
        argv: rcloneArgv(fileset.plain, `bench:${BUCKET}/rc`),
        time: { cwd: dir, env: rcloneEnv },
        label: `remote: ${name} push, rclone`,
        before: () => removeAll(join(bucketDir, "rc")),
      },
    ]);
    rows.push({
      name: `${name}: push`,
      pivot: push!,
      rclone: rpush ?? { skipped: rcloneMissing! },
      target: `≤ ${limits.push}×`,
      limit: limits.push,
    });

    const fetchProject = join(dir, "fetch");
    const into = join(dir, "rclone-pull");
    const [pull, rpull] = await interleaved(reps, [
      {
        argv: pivotArgv("fetch", fetchProject, "pv"),
        time: { cwd: dir, env: pivotEnv },
        label: `remote: ${name} pull, Pivot`,
        before: async () => {
          await removeAll(fetchProject);
          await Deno.mkdir(fetchProject, { recursive: true });
          await Deno.copyFile(
            join(fileset.project, "targets.json"),
            join(fetchProject, "targets.json"),
          );
        },
        check: checkPivot(count),
      },
      rcloneMissing ? undefined : {
        argv: rcloneArgv(`bench:${BUCKET}/rc`, into),
        time: { cwd: dir, env: rcloneEnv },
        label: `remote: ${name} pull, rclone`,
        before: () => removeAll(into),
      },
    ]);
    rows.push({
      name: `${name}: pull (Pivot: fetch into the cache, hash-checked)`,
      pivot: pull!,
      rclone: rpull ?? { skipped: rcloneMissing! },
      target: `≤ ${limits.pull}×`,
      limit: limits.pull,
    });
    await removeAll(fetchProject);
    await removeAll(into);
    await removeAll(join(bucketDir, "pv"));
    await removeAll(join(bucketDir, "rc"));
  };

  progress(`remote: writing ${sizes.smallFiles} files of 4 KiB`);
  const small = await makeFileset(join(dir, "small"), sizes.smallFiles, 4096);
  await both(
    `${sizes.smallFiles.toLocaleString("en-US")} files of 4 KiB`,
    small,
    sizes.smallFiles,
    { push: 1.2, pull: 1.2 },
  );
  await removeAll(join(dir, "small"));

  progress(`remote: writing a ${sizes.bigFile / MiB} MiB file`);
  const big = await makeFileset(join(dir, "big"), 1, sizes.bigFile);
  await both(`one ${sizes.bigFile / MiB} MiB file`, big, 1, { push: 1.2, pull: 1.5 });
  await removeAll(join(dir, "big"));

  // The same sizes through the real commands, in projects: `pivot push` of a
  // directory out (or one file out) recorded in a lock file, `pivot pull`
  // (fetch and checkout) in a copy of the project without cache or outs.
  const cli = new CliProjects(join(dir, "cli"), server.endpoint, bucketDir);
  const cliRows: Row[] = [];
  for (
    const [name, count, size, limits] of [
      [`${sizes.smallFiles.toLocaleString("en-US")} files of 4 KiB`, sizes.smallFiles, 4096, {
        push: 1.2,
        pull: 1.2,
      }],
      [`one ${sizes.bigFile / MiB} MiB file`, 1, sizes.bigFile, { push: 1.2, pull: 1.5 }],
    ] as const
  ) {
    progress(`remote: a project with ${name} (pivot repro)`);
    const project = await cli.create(count, size);
    const objects = count === 1 ? 1 : count + 1; // a directory's files and its manifest
    // The load on this machine swings by several times within minutes, so
    // rclone is timed again here, each repetition right after Pivot's.
    const [push, rpush] = await interleaved(reps, [
      {
        argv: [...pivotCommand(), "push", "--json"],
        time: { cwd: project.a },
        label: `remote: ${name}, pivot push`,
        before: () => project.emptyRemote(),
        check: checkCli(objects),
      },
      rcloneMissing ? undefined : {
        argv: rcloneArgv(project.plain, `bench:${BUCKET}/rccli`),
        time: { cwd: dir, env: rcloneEnv },
        label: `remote: ${name}, rclone copy up`,
        before: () => removeAll(join(bucketDir, "rccli")),
      },
    ]);
    cliRows.push({
      name: `${name}: \`pivot push\``,
      pivot: push!,
      rclone: rpush ?? { skipped: rcloneMissing! },
      target: `≤ ${limits.push}×`,
      limit: limits.push,
    });
    const into = join(dir, "rclone-cli-pull");
    const [pull, rpull] = await interleaved(reps, [
      {
        argv: [...pivotCommand(), "pull", "--json"],
        time: { cwd: project.b },
        label: `remote: ${name}, pivot pull`,
        before: () => project.emptyClone(),
        check: checkCli(objects),
      },
      rcloneMissing ? undefined : {
        argv: rcloneArgv(`bench:${BUCKET}/rccli`, into),
        time: { cwd: dir, env: rcloneEnv },
        label: `remote: ${name}, rclone copy down`,
        before: () => removeAll(into),
      },
    ]);
    cliRows.push({
      name: `${name}: \`pivot pull\` (fetch, hash-check, check out)`,
      pivot: pull!,
      rclone: rpull ?? { skipped: rcloneMissing! },
      target: `≤ ${limits.pull}×`,
      limit: limits.pull,
    });
    await removeAll(into);
    await removeAll(join(bucketDir, "rccli"));
    await project.remove();
  }

  // A no-op `pivot push` of a directory of many files, from a fresh clone
  // (no index: the remote is asked) and again (the index answers).
  progress(`remote: a project with a directory of ${sizes.noopObjects} files`);
  const noop = await cli.create(sizes.noopObjects, 64);
  await noop.emptyRemote();
  await mustRun([...pivotCommand(), "push"], noop.a);
  const cliRequests: Record<string, string> = {};
  const cliCounted: Record<string, number> = {};
  for (const index of ["cold", "warm"] as const) {
    let counted = "—";
    const m = await repeat([...pivotCommand(), "push", "--json"], { cwd: noop.a }, {
      label: `remote: no-op pivot push of ${sizes.noopObjects} files, ${index} index`,
      reps: 1,
      before: async () => {
        if (index === "cold") await noop.forgetRemote();
      },
      check: (run) => {
        const result = parseJsonLine(run.stdout);
        if (!result || result.skipped !== sizes.noopObjects + 1) {
          return `expected ${sizes.noopObjects + 1} skipped: ${run.stdout.slice(0, 200)}`;
        }
        counted = String(result.requests);
        cliCounted[index] = result.requests!;
        return undefined;
      },
    });
    cliRequests[index] = measured(m)
      ? `${counted} request${counted === "1" ? "" : "s"}, ${wallCell(m)}`
      : wallCell(m);
  }
  await noop.remove();

  // No-op push: everything already there; count requests with a cold index
  // (a fresh clone) and a warm one.
  progress(`remote: writing ${sizes.noopObjects} objects for the no-op push`);
  const many = await makeFileset(join(dir, "many"), sizes.noopObjects, 64);
  const manyArgv = pivotArgv("push", many.project, "noop");
  await repeat(manyArgv, { cwd: dir, env: pivotEnv }, {
    label: `remote: pushing ${sizes.noopObjects} objects`,
    reps: 1,
    check: checkPivot(sizes.noopObjects),
  });
  const requests: Record<string, number | string> = {};
  const layerCounted: Record<string, number> = {};
  for (const index of ["cold", "warm"] as const) {
    let counted: number | string = "—";
    const m = await repeat(manyArgv, { cwd: dir, env: pivotEnv }, {
      label: `remote: no-op push of ${sizes.noopObjects}, ${index} index`,
      reps: 1,
      before: async () => {
        if (index === "cold") await removeAll(join(many.project, "state"));
      },
      check: (run) => {
        const result = parsePivot(run.stdout);
        if (!result) return "no JSON";
        if (result.summary.skipped !== sizes.noopObjects) {
          return `skipped ${result.summary.skipped}`;
        }
        counted = result.stats.requests;
        layerCounted[index] = counted;
        return undefined;
      },
    });
    requests[index] = measured(m)
      ? `${counted} request${String(counted) === "1" ? "" : "s"}, ${wallCell(m)}`
      : wallCell(m);
  }
  await removeAll(join(dir, "many"));

  // Peak memory of a large push.
  progress(`remote: writing a ${sizes.memoryFile / MiB} MiB file for peak memory`);
  const huge = await makeFileset(join(dir, "huge"), 1, sizes.memoryFile);
  const memory = await repeat(pivotArgv("push", huge.project, "mem"), { cwd: dir, env: pivotEnv }, {
    label: `remote: ${sizes.memoryFile / MiB} MiB push, Pivot`,
    reps: 1,
    before: async () => {
      await removeAll(join(bucketDir, "mem"));
      await removeAll(join(huge.project, "state"));
    },
    check: checkPivot(1),
  });
  const rmemory: Measurement = rcloneMissing ? { skipped: rcloneMissing } : await repeat(
    rcloneArgv(huge.plain, `bench:${BUCKET}/rcmem`),
    { cwd: dir, env: rcloneEnv },
    {
      label: `remote: ${sizes.memoryFile / MiB} MiB push, rclone`,
      reps: 1,
      before: () => removeAll(join(bucketDir, "rcmem")),
    },
  );
  await removeAll(dir);

  const verdict = (row: Row) => {
    if (!measured(row.pivot) || !measured(row.rclone)) return "—";
    return row.pivot.wall.median / row.rclone.wall.median <= row.limit ? "yes" : "**no**";
  };
  /** A row of a targets table: the medians, their ratio, the target and whether it is met. */
  const targetRow = (row: Row) => [
    row.name,
    wallCell(row.pivot),
    wallCell(row.rclone),
    ratio(row.pivot, row.rclone),
    row.target,
    verdict(row),
  ];
  const fewRequests = (n: number | undefined) => n === undefined ? "—" : n < 50 ? "yes" : "**no**";
  // Peak memory must not grow with the file: within 2× rclone's (which
  // streams with fixed buffers) for a file 4–10× larger than either.
  const boundedMemory = measured(memory) && memory.rss && measured(rmemory) && rmemory.rss
    ? memory.rss.median <= 2 * rmemory.rss.median ? "yes" : "**no**"
    : "—";
  const memoryName = sizes.memoryFile >= 1024 * MiB
    ? `${sizes.memoryFile / (1024 * MiB)} GiB`
    : `${sizes.memoryFile / MiB} MiB`;
  const noopName = sizes.noopObjects.toLocaleString("en-US");
  const targets = table(
    ["Target (issue 12)", "Pivot", "rclone", "Pivot ÷ rclone", "Target", "Met"],
    [
      ...cliRows.map(targetRow),
      [
        `no-op push of ${noopName} objects (transfer layer), cold index (fresh clone): requests`,
        String(requests.cold),
        "—",
        "—",
        "< 50 requests",
        fewRequests(layerCounted.cold),
      ],
      [
        `no-op \`pivot push\` of a directory of ${noopName} files, fresh clone: requests`,
        cliRequests.cold!,
        "—",
        "—",
        "< 50 requests",
        fewRequests(cliCounted.cold),
      ],
      [
        `peak memory (max RSS) of a ${memoryName} push`,
        `${rssCell(memory)}, ${wallCell(memory)}`,
        measured(rmemory) ? `${rssCell(rmemory)}, ${wallCell(rmemory)}` : wallCell(rmemory),
        "—",
        "bounded: ≤ 2× rclone's",
        boundedMemory,
      ],
    ],
  );
  const body = [
    `s3rver ${"3.7.1"} on 127.0.0.1 (a Node.js server: it is the bottleneck, for both tools), ` +
    `${JOBS} parallel transfers for both (\`-j ${JOBS}\`; rclone \`--transfers ${JOBS} --checkers ${JOBS}\`, ` +
    `its other settings default). Each figure is a whole process, each repetition of Pivot followed by ` +
    `one of rclone (the load on this machine swings); a push starts from an empty prefix ` +
    `and (Pivot) an empty index; a pull into an empty cache or folder.` +
    (quick
      ? " `--quick` sizes (the targets are set for 2,000 files, 256 MiB, 10,000 objects and 1 GiB)."
      : ""),
    "",
    "The issue's targets, through the commands: `pivot push` in a project whose lock file records " +
    "the data as a directory out (or one file out), `pivot pull` in a copy of it without cache, " +
    "state or outs (a fresh clone: it fetches, hash-checks, and checks the data out into the " +
    "workspace, a second write where the filesystem has no reflink). rclone copies the same files " +
    "(`rclone copy`, a folder to the bucket and back), each run right after Pivot's. Met: Pivot's " +
    "median wall time ÷ rclone's.",
    "",
    targets,
    "",
    "CPU time (user + system, GNU time) of the same runs: on a loaded machine the steadier figure. " +
    "Neither includes s3rver's.",
    "",
    table(
      ["Case", "Pivot CPU", "rclone CPU", "Pivot ÷ rclone (CPU)"],
      cliRows.map((
        row,
      ) => [row.name, cpuCell(row.pivot), cpuCell(row.rclone), cpuRatio(row.pivot, row.rclone)]),
    ),
    "",
    "The transfer layer alone (`bench/remote_transfer.ts`: `pushObjects`/`fetchObjects` on a bare " +
    "cache, no project, no checkout):",
    "",
    table(
      ["Case", "Pivot", "rclone", "Pivot ÷ rclone", "Target", "Met"],
      rows.map(targetRow),
    ),
    "",
    table(["No-op push", "Requests, wall time"], [
      [
        `\`pivot push\` of a directory of ${noopName} files, fresh clone (no index)`,
        cliRequests.cold!,
      ],
      ["the same, again (index warm)", cliRequests.warm!],
      [`${noopName} objects (transfer layer), cold index`, String(requests.cold)],
      [`${noopName} objects (transfer layer), warm index`, String(requests.warm)],
    ]),
  ];
  return { title: "8. Remote transfers (S3)", body: body.join("\n") };
}
