/**
 * `pivot push`, `pivot fetch` and `pivot pull`: share the cache through a
 * remote (SPEC §10). `push` uploads the objects that the project's lock and
 * `.pvt` files refer to and the remote lacks; `fetch` downloads those the
 * cache lacks; `pull` is `fetch` followed by `checkout`. `--run-cache` also
 * shares run-cache entries, so that a teammate's `repro` restores a stage
 * anyone already ran with the same code, params and deps.
 *
 * The transfer itself (existence by listing, parallel jobs, integrity,
 * resumable uploads) is lib/remote/'s; this file chooses what to transfer
 * (lib/cli/transfer_targets.ts), draws progress, and prints the result.
 *
 * @module
 */

import { join, resolve } from "node:path";
import { projectRelative } from "../../model/project.ts";
import type { Project } from "../../model/project.ts";
import type { RunEntry, RunOut } from "../../remote/run_cache.ts";
import type { TransferProgress, TransferSummary } from "../../remote/progress.ts";
import type { Remote, TransferTarget } from "../../remote/transfer.ts";
import type { Hash } from "../../storage/hash.ts";
import { NS } from "../../storage/state.ts";
import type { RunCacheEntry } from "../../engine/decide.ts";
import { type Command, type CommandEnv, intOption, type OptionSpec } from "../command.ts";
import { Output } from "../output.ts";
import { mark } from "../../trace.ts";
import { type ProjectSession, withProject } from "../project_session.ts";
import { openCheckedRemote } from "../remote_access.ts";
import {
  isManifestObject,
  readProjectRecords,
  type RecordedData,
  type Selection,
  selectRecords,
} from "../transfer_targets.ts";
import { checkout } from "./checkout.ts";
import { type Cache, type CheckoutMode, dropOfferedCopies } from "../../storage/cache.ts";

const OPTIONS: Readonly<Record<string, OptionSpec>> = {
  remote: {
    type: "string",
    short: "r",
    value: "NAME",
    help: "the remote to use (default: core.remote, or the only one)",
  },
  jobs: {
    type: "string",
    short: "j",
    value: "N",
    help: "transfers at once (default: the remote's jobs, else 4 × cores)",
  },
  "run-cache": {
    type: "boolean",
    help: "also share run-cache entries, so repro restores stages run elsewhere",
  },
  json: { type: "boolean", help: "print {transferred, skipped, failed, bytes} as JSON" },
};

const TARGETS_HELP = "TARGETS: stage names or patterns, out paths, tracked paths, folders";

/** The `push` command. */
export const pushCommand: Command = {
  name: "push",
  summary: "Upload to a remote the cached outs and tracked data the remote lacks.",
  usage: `push [TARGETS...] [options]   (${TARGETS_HELP})`,
  options: OPTIONS,
  run: async (args, env) =>
    (await transfer("push", args, env, async (session, remote, selection, report) => {
      const { pushObjects } = await import("../../remote/transfer.ts");
      const { cache, state } = session;
      const data = resolveLocal(selection.data, cache, report);
      const entries = report.runCache ? await localRunEntries(session, selection) : [];
      const targets = [...data, ...entries.flatMap((entry) => outTargets(entry.outs))];
      const summary = await pushObjects(remote, cache, state, unique(targets), report.options);
      if (entries.length > 0) {
        const { pushRunEntries } = await import("../../remote/run_cache.ts");
        // An entry goes up only once every object it names is on the remote:
        // a teammate who finds it can then always fetch its outs.
        const ready = entries.filter((entry) =>
          entry.outs.every((out) => remote.index.size(out.hash) !== undefined)
        );
        const pushed = await pushRunEntries(remote, ready.map((entry) => entry.run));
        report.runs = {
          transferred: pushed,
          skipped: ready.length - pushed,
          failed: entries.length - ready.length,
        };
      }
      return summary;
    })).code,
};

/** The `fetch` command. */
export const fetchCommand: Command = {
  name: "fetch",
  summary: "Download from a remote the cached outs and tracked data the cache lacks.",
  usage: `fetch [TARGETS...] [options]   (${TARGETS_HELP})`,
  options: OPTIONS,
  run: async (args, env) => (await transfer("fetch", args, env, fetchInto)).code,
};

/** The `pull` command. */
export const pullCommand: Command = {
  name: "pull",
  summary: "Fetch from a remote, then check out: restore outs and tracked data.",
  usage: `pull [TARGETS...] [options]   (${TARGETS_HELP})`,
  options: {
    ...OPTIONS,
    force: { type: "boolean", help: "also overwrite outs edited in the workspace (as checkout)" },
  },
  async run(args, env) {
    try {
      const fetched = await transfer("fetch", args, env, fetchInto, "pull");
      // The checkout command itself, with its locks and its rules for edited
      // outs; with --json its lines would spoil the JSON, so only errors show.
      // TARGETS become the paths they selected (a folder, a path inside a
      // directory out), as absolute paths, which checkout takes from any cwd.
      const output = args.values.json ? quietOutput(env.output) : env.output;
      const checkedOut = await checkout.run({
        values: args.values.force ? { force: true } : {},
        positionals: args.positionals.length === 0 ? [] : fetched.paths,
      }, { ...env, output });
      return Math.max(fetched.code, checkedOut);
    } finally {
      // Copies made for checkout (small downloads) that it did not take.
      dropOfferedCopies();
    }
  },
};

/** What a transfer reports besides the objects' summary. */
interface Report {
  /** `--run-cache` was given. */
  readonly runCache: boolean;
  /** Options for the transfer layer (progress, problems, cancellation). */
  readonly options: {
    readonly progress: TransferProgress;
    readonly onProblem: (message: string) => void;
    readonly signal: AbortSignal;
    readonly prepareCopies: boolean;
  };
  /** Objects found missing before the transfer started (counted as failed). */
  missing: number;
  /** Run-cache entries: transferred, already there, not transferable. */
  runs: { transferred: number; skipped: number; failed: number } | undefined;
}

type Action = (
  session: ProjectSession,
  remote: Remote,
  selection: Selection,
  report: Report,
) => Promise<TransferSummary>;

/**
 * The frame of every transfer command: open the project (not its pipeline),
 * select what to transfer, open and check the remote, run `action` with a
 * progress line on a terminal, and print the final line (or JSON). Exit
 * code 1 when an object or entry failed.
 */
async function transfer(
  verb: "push" | "fetch",
  { values, positionals }: { values: Record<string, unknown>; positionals: readonly string[] },
  env: CommandEnv,
  action: Action,
  commandName: string = verb,
): Promise<{ code: number; paths: string[] }> {
  const jobs = intOption(values.jobs, "jobs", commandName);
  return await withProject(env, async (session) => {
    const { project, state, config } = session;
    mark("transfer: project open");
    const records = await readProjectRecords(project, state, session.skip);
    mark("transfer: records read");
    const selection = selectRecords(
      records,
      positionals,
      (path) => toProjectPath(project, env, path),
    );
    const remote = await openCheckedRemote(project, config, state, {
      requested: values.remote as string | undefined,
      jobs,
    });
    mark("transfer: remote checked");
    try {
      const { TransferProgress } = await import("../../remote/progress.ts");
      // The status line is worked out only where it is drawn (a terminal).
      const drawn = env.output.stderrIsTerminal && !env.output.quiet;
      const progress = new TransferProgress({
        verb,
        ...(drawn ? { status: (line: string) => env.output.status(line) } : {}),
      });
      const paths = pathsByHash(selection.data);
      const report: Report = {
        runCache: Boolean(values["run-cache"]),
        options: {
          progress,
          onProblem: (message) => env.output.error(withPaths(message, paths)),
          signal: env.signal,
          // pull: small downloads are written a second time, from memory,
          // for its checkout, where a checkout by copy would copy them.
          prepareCopies: commandName === "pull" && copiesOnCheckout(config.checkoutMode, session),
        },
        missing: 0,
        runs: undefined,
      };
      const summary = await action(session, remote, selection, report);
      mark("transfer: transferred");
      env.output.clearStatus();
      const runs = report.runs;
      const { requests, lists } = remote.backend.stats;
      if (values.json) {
        env.output.line(JSON.stringify({
          ...summary,
          ...(runs ? { run_cache: runs } : {}),
          // What it cost the remote (S3 requests; a directory remote's operations).
          requests,
        }));
      } else if (!env.output.quiet) {
        env.output.line(progress.finalLine());
        if (env.output.verbose) {
          env.output.line(`${verb}: ${requests} requests to the remote, ${lists} of them listings`);
        }
        if (runs) {
          env.output.line(
            `${verb}: ${runs.transferred} run-cache ${
              runs.transferred === 1 ? "entry" : "entries"
            } transferred, ${runs.skipped} already there${
              runs.failed > 0 ? `, ${runs.failed} not transferable (outs missing)` : ""
            }`,
          );
        }
      }
      return {
        code: summary.failed > 0 ? 1 : 0,
        paths: [...new Set(selection.data.map((item) => join(project.root, item.path)))],
      };
    } finally {
      env.output.clearStatus();
      remote.backend.close();
    }
  });
}

/**
 * Fetch the selection into the cache; with `--run-cache`, first the remote's
 * run-cache entries of the selected stages that the state store lacks, then
 * their outs with everything else, and only then remember the entries whose
 * outs all arrived (an entry in the run cache promises a restore).
 */
async function fetchInto(
  session: ProjectSession,
  remote: Remote,
  selection: Selection,
  report: Report,
): Promise<TransferSummary> {
  const { fetchObjects } = await import("../../remote/transfer.ts");
  const { cache, state } = session;
  const entries: SharedEntry[] = [];
  let alreadyHere = 0;
  if (report.runCache) {
    const { fetchRunEntries, parseRunOuts } = await import("../../remote/run_cache.ts");
    const fetched = await fetchRunEntries(
      remote,
      selection.stages.map((stage) => stage.key),
      async (stageKey, inputHash) => {
        const here = (await state.get([NS.run, stageKey, inputHash])) !== undefined;
        if (here) alreadyHere++;
        return here;
      },
      { onProblem: report.options.onProblem },
    );
    for (const run of fetched) {
      const outs = parseRunOuts(run.entry);
      if (typeof outs === "string") {
        report.options.onProblem(
          `${remote.backend.label}: run-cache entry of ${run.stageKey} (${run.inputHash}) is not valid: ${outs}; skipped`,
        );
        continue;
      }
      entries.push({ run, outs });
    }
  }
  const known = selection.data.filter((item) => item.isDir !== undefined);
  const unsure = selection.data.filter((item) => item.isDir === undefined);
  const targets = [
    ...known.map((item) => ({ hash: item.hash, isDir: item.isDir! })),
    ...unsure.map((item) => ({ hash: item.hash, isDir: false })),
    ...entries.flatMap((entry) => outTargets(entry.outs)),
  ];
  let summary = await fetchObjects(remote, cache, state, unique(targets), report.options);
  // Lock files written before directories carried their file count do not
  // say which outs are directories: those whose object turned out to be a
  // manifest need their files too.
  const manifests = unsure.filter((item) => isManifestObject(cache, item.hash));
  if (manifests.length > 0) {
    const files: TransferTarget[] = [];
    for (const item of manifests) {
      const manifest = await cache.readManifest(item.hash);
      for (const file of manifest?.files ?? []) files.push({ hash: file.hash, isDir: false });
    }
    summary = await fetchObjects(remote, cache, state, unique(files), report.options);
  }
  if (report.runCache) {
    let stored = 0;
    for (const { run, outs } of entries) {
      if (!(await allInCache(cache, outs))) continue;
      await state.set(
        [NS.run, run.stageKey, run.inputHash],
        { outs } satisfies RunCacheEntry,
      );
      stored++;
    }
    report.runs = { transferred: stored, skipped: alreadyHere, failed: entries.length - stored };
  }
  return summary;
}

/** A run-cache entry with its outs validated. */
interface SharedEntry {
  readonly run: RunEntry;
  readonly outs: readonly RunOut[];
}

/**
 * The run-cache entries of the state store for the selected stages (every
 * entry when no targets were given), keeping only those whose outs are all
 * in the cache: an entry whose objects were collected away cannot be shared.
 */
async function localRunEntries(
  session: ProjectSession,
  selection: Selection,
): Promise<SharedEntry[]> {
  const { parseRunOuts } = await import("../../remote/run_cache.ts");
  const wanted = new Set(selection.stages.map((stage) => stage.key));
  const entries: SharedEntry[] = [];
  for (const { key, value } of await session.state.list<unknown>([NS.run])) {
    const [, stageKey, inputHash] = key as [string, string, string];
    if (!selection.everything && !wanted.has(stageKey)) continue;
    const outs = parseRunOuts(value);
    if (typeof outs === "string") continue;
    if (!(await allInCache(session.cache, outs))) continue;
    entries.push({ run: { stageKey, inputHash, entry: { outs } }, outs });
  }
  return entries;
}

/** True when every object of `outs` (with each directory's files) is in the cache. */
async function allInCache(cache: Cache, outs: readonly RunOut[]): Promise<boolean> {
  for (const out of outs) {
    if (!cache.has(out.hash)) return false;
    if (!out.isDir) continue;
    const manifest = await cache.readManifest(out.hash);
    if (!manifest || manifest.files.some((file) => !cache.has(file.hash))) return false;
  }
  return true;
}

/**
 * The transfer targets of `data` for a push: each recorded item whose object
 * is in the cache (a directory when its record says so, or when its object is
 * a manifest). Items missing from the cache are reported by path and counted
 * as failed.
 */
function resolveLocal(
  data: readonly RecordedData[],
  cache: Cache,
  report: Report,
): TransferTarget[] {
  const targets: TransferTarget[] = [];
  for (const item of data) {
    if (!cache.has(item.hash)) {
      const fix = item.stage
        ? `run 'pivot repro ${item.stage.name}' or fetch it from where it was made`
        : `run 'pivot track ${item.path}' where the data is`;
      report.options.onProblem(
        `${item.path}${
          item.stage ? ` (stage ${item.stage.name})` : ""
        }: not in the local cache (${item.hash}): ${fix}`,
      );
      report.options.progress.done("failed");
      continue;
    }
    targets.push({ hash: item.hash, isDir: item.isDir ?? isManifestObject(cache, item.hash) });
  }
  return targets;
}

function outTargets(outs: readonly RunOut[]): TransferTarget[] {
  return outs.map((out) => ({ hash: out.hash, isDir: out.isDir }));
}

/** Each hash once (a directory's entry wins over a file's for the same hash). */
function unique(targets: readonly TransferTarget[]): TransferTarget[] {
  const byHash = new Map<Hash, TransferTarget>();
  for (const target of targets) {
    if (!byHash.get(target.hash)?.isDir) byHash.set(target.hash, target);
  }
  return [...byHash.values()];
}

function pathsByHash(data: readonly RecordedData[]): Map<Hash, string[]> {
  const paths = new Map<Hash, string[]>();
  for (const item of data) paths.set(item.hash, [...(paths.get(item.hash) ?? []), item.path]);
  return paths;
}

/** A problem line naming an object by hash, with the paths that hold it appended. */
function withPaths(message: string, paths: ReadonlyMap<Hash, string[]>): string {
  for (const hash of message.match(/\b[0-9a-f]{16}\b/g) ?? []) {
    const named = paths.get(hash);
    if (named && !named.some((path) => message.includes(path))) {
      return `${message} [${named.join(", ")}]`;
    }
  }
  return message;
}

/**
 * True when a checkout by `mode` into this project writes every byte again:
 * a copy, or a reflink on a Linux filesystem known to have none (ext4,
 * tmpfs…). Elsewhere (btrfs, XFS, APFS, or unknown) a reflink clones for
 * free, and a copy made during the download would be a wasted write.
 */
function copiesOnCheckout(mode: CheckoutMode, session: ProjectSession): boolean {
  if (mode === "copy") return true;
  if (mode !== "reflink") return false;
  return NO_REFLINK.has(filesystemOf(session.project.root) ?? "");
}

/** Linux filesystems without reflinks (copy_file_range copies the bytes). */
const NO_REFLINK = new Set(["ext2", "ext3", "ext4", "tmpfs", "f2fs", "vfat", "exfat", "ntfs3"]);

/** The type of the filesystem holding `path` (Linux: /proc/self/mountinfo), else undefined. */
function filesystemOf(path: string): string | undefined {
  let mounts: string;
  try {
    mounts = Deno.readTextFileSync("/proc/self/mountinfo");
    path = Deno.realPathSync(path);
  } catch {
    return undefined;
  }
  let best: { point: string; type: string } | undefined;
  for (const line of mounts.split("\n")) {
    // "36 35 98:0 / /mnt rw,noatime shared:1 - ext4 /dev/root rw": the
    // mount point is field 5 (octal escapes for spaces), the type follows " - ".
    const fields = line.split(" ");
    const dash = fields.indexOf("-");
    if (fields.length < 5 || dash < 0) continue;
    const point = fields[4]!.replace(/\\(\d{3})/g, (_, n) => String.fromCharCode(parseInt(n, 8)));
    const inside = point === "/" || path === point || path.startsWith(point + "/");
    if (inside && (!best || point.length >= best.point.length)) {
      best = { point, type: fields[dash + 1] ?? "" };
    }
  }
  return best?.type;
}

function toProjectPath(project: Project, env: CommandEnv, path: string): string {
  return projectRelative(project, resolve(env.cwd, path));
}

/** An output that shows errors only (for `pull --json`'s checkout). */
function quietOutput(output: Output): Output {
  return new Output({ verbose: output.verbose, quiet: true });
}
