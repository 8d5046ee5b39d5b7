/**
 * The record of the last verified no-op `repro`: the fast answer of a
 * whole-graph no-op in the launcher's process (docs/performance.md, "…
 * eleventh session (issue 16, branch i16-fast11)").
 *
 * When the launcher's no-op gate (lib/noop_stamps.ts) found every stamp
 * holding, a no-op `repro` still decoded the load cache (lib/cli/
 * load_cache.ts) and the verified index (lib/engine/verified.ts) to find
 * every stage up to date, ~0.2 s of CPU at 10,000 stages. A `repro` of every
 * stage that did find every stage up to date that way, by the gate's stamps
 * and leaving the index as it was, writes this record
 * (`.pivot/state/noop-record.json`): the stages' names in the order it
 * reported them, and what that answer rested on. The next such `repro`
 * answers from the record, without either decode, when all of it still holds:
 *
 * 1. the gate's stamps: the gate held (no touched file) on the snapshot file
 *    of the record's stamp and generation, so every path the check compared
 *    has the stamp it compared then;
 * 2. the load cache's key, checked by the load cache's own code
 *    ({@link loadCacheKeyDiffers}): the stages, graph and fingerprints
 *    are the ones the check was made with; and the load cache file's own
 *    stamp (rewritten or damaged, the full way reads it);
 * 3. the verified index's generation (chunk 0 of `NS.verified`): the entries
 *    the stamps were compared with are unchanged;
 * 4. the stamp of each cache object directory the check found with its
 *    recorded stamp (a removed object changes it);
 * 5. the project's configuration;
 * 6. the command line: `repro` or `status` with no more than `--json`,
 *    `-v` and `--cwd`, and `repro` also `-q`, `-k`, `-j N`
 *    ({@link answersCommandLine}).
 *
 * `status` answers from the same record (written by `repro` only: its names
 * are the graph's order, which is also `status`'s), showing each stage as a
 * verified decision shows ({@link upToDate}); its tracked data (`.pvt`
 * files) is looked at as always, not recorded.
 *
 * Any doubt sends the command the full way: a miss only costs the time
 * saved. The answer goes through the same sinks and history recorder as the
 * engine's settled wave (lib/cli/wave.ts, `answerRecordedNoop`).
 *
 * @module
 */

import type { Project } from "../model/project.ts";
import type { ParamsYaml } from "../pipeline/params.ts";
import type { ProjectConfig } from "../pipeline/project_config.ts";
import { type FileStamp, NS, type StateStore } from "../storage/state.ts";
import { gateBarsRecord, peekGateStamps, type SnapshotStamp } from "../noop_stamps.ts";
import type { NoopWitness } from "../engine/verified.ts";
import { type LoadCacheKey, loadCacheKeyDiffers, loadCacheStamp } from "./load_cache_key.ts";
import { mark } from "../trace.ts";
import type { ShownDecision } from "./explain.ts";

/** The record's file name, in the project's state directory. */
export const NOOP_RECORD_FILE = "noop-record.json";

const VERSION = 1;

/** The record as stored. */
interface NoopRecord {
  readonly version: number;
  /** The stages' names, in the order the no-op reported them. */
  readonly names: readonly string[];
  /** The gate's snapshot file: stamp and generation. */
  readonly snapshot: SnapshotStamp;
  /** The verified index's generation. */
  readonly verified: string;
  /** Each object directory: name under the cache directory, mtime, inode. */
  readonly objectDirs: readonly (readonly [string, number, number])[];
  readonly loadCache: LoadCacheKey;
  /** The load cache file's stamp (mtime, size, inode) when it was read. */
  readonly loadCacheFile: readonly [number, number, number];
  /** The configuration, as {@link configKey} gives it. */
  readonly config: string;
}

/** What the command's session had open when the record is asked or written. */
export interface NoopRecordBasis {
  readonly project: Project;
  readonly pipelineFile: string;
  readonly denoConfig: string | undefined;
  readonly paramsYaml: ParamsYaml;
  readonly config: ProjectConfig;
}

/**
 * `repro`'s options that change nothing in a no-op's answer: `-q` (the same
 * events, through the same quiet output), `-k` (nothing fails) and `-j N`
 * (nothing runs), N a whole number ≥ 1 written plainly (any other value is
 * left to the full way, which says what is wrong with it).
 */
const REPRO_ONLY = new Set(["-q", "--quiet", "-k", "--keep-going"]);
const JOBS = new Set(["-j", "--jobs"]);

/**
 * True when the command line `args` (after `pivot`) is one the record may
 * answer: `command` (`repro` or `status`) with nothing but `--json`,
 * `-v`/`--verbose` and `--cwd DIR`, and for `repro` also `-q`, `-k` and
 * `-j N` ({@link REPRO_ONLY}). Anything else (targets, `-f`, `-n`, `-e`,
 * `--no-commit`, `--check`, `-c`, …) goes the full way.
 */
export function answersCommandLine(args: readonly string[], command: "repro" | "status"): boolean {
  const name = command;
  let found = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--cwd") {
      i++;
      continue;
    }
    if (arg === "--json" || arg === "-v" || arg === "--verbose") continue;
    if (command === "repro" && REPRO_ONLY.has(arg)) continue;
    if (command === "repro" && JOBS.has(arg) && /^[1-9][0-9]{0,5}$/.test(args[i + 1] ?? "")) {
      i++;
      continue;
    }
    if (arg === name && !found) {
      found = true;
      continue;
    }
    return false;
  }
  return found;
}

/**
 * What `status` shows of the stage `name` when the record answers: what
 * `statusJson` and `printStatusTable` read of a verified stage's decision
 * (lib/engine/verified_decision.ts), which every stage's is then.
 */
export function upToDate(name: string): ShownDecision {
  return {
    stage: { name },
    status: "up-to-date",
    reasons: [],
    changes: { code: [], params: [], deps: [] },
    restore: [],
    runCache: undefined,
  };
}

/** The configuration as the record binds it (its warnings aside: printed either way). */
function configKey(config: ProjectConfig): string {
  return JSON.stringify({ ...config, warnings: undefined });
}

/**
 * The stages' names from the record of `basis`'s project when every part of
 * what it rests on still holds (see the module's documentation); else
 * undefined, with why in the trace. Only after the launcher's gate held.
 */
export async function recordedStages(
  basis: NoopRecordBasis,
  state: StateStore,
): Promise<readonly string[] | undefined> {
  const why = await recordDiffers(basis, state);
  if (typeof why === "string") {
    mark(`noop record: ${why}: the full way`);
    return undefined;
  }
  return why.names;
}

async function recordDiffers(
  basis: NoopRecordBasis,
  state: StateStore,
): Promise<string | NoopRecord> {
  const gate = peekGateStamps();
  const barred = gateBarsRecord();
  if (barred !== undefined || gate?.snapshot === undefined) return barred ?? "no gate";
  let record: NoopRecord;
  try {
    record = JSON.parse(Deno.readTextFileSync(`${basis.project.stateDir}/${NOOP_RECORD_FILE}`));
  } catch {
    return "no record";
  }
  try {
    if (record?.version !== VERSION || !Array.isArray(record.names)) return "another format";
    const was = record.snapshot;
    const now = gate.snapshot;
    if (
      was.mtime !== now.mtime || was.size !== now.size || was.ino !== now.ino ||
      was.generation !== now.generation
    ) return "another snapshot";
    if (record.config !== configKey(basis.config)) return "configuration changed";
    const { project, pipelineFile, denoConfig, paramsYaml } = basis;
    mark("noop record: read");
    const key = loadCacheKeyDiffers(
      project,
      pipelineFile,
      denoConfig,
      paramsYaml,
      record.loadCache,
    );
    if (key !== undefined) return `load cache key: ${key}`;
    mark("noop record: load cache key holds");
    // The cache file itself, as read then: rewritten or damaged, the full way reads it.
    const file = loadCacheStamp(project);
    const [mtime, size, ino] = record.loadCacheFile;
    if (file?.mtime !== mtime || file.size !== size || file.ino !== ino) {
      return "the load cache file changed";
    }
    for (const [name, mtime, ino] of record.objectDirs) {
      const dir = `${basis.config.cacheDir}${name}`;
      let info: Deno.FileInfo;
      try {
        info = Deno.statSync(dir);
      } catch {
        return `${dir} is gone`;
      }
      if (!info.isDirectory || (info.mtime?.getTime() ?? 0) !== mtime || info.ino !== ino) {
        return `${dir} changed`;
      }
    }
    mark("noop record: object directories hold");
    const first = await state.kv.get<{ generation?: unknown } | null>([NS.verified, 0]);
    if (first.value?.generation !== record.verified) return "the verified index changed";
    if (!record.names.every((name) => typeof name === "string")) return "damaged";
    return record;
  } catch (error) {
    // A damaged record is a miss, never a crash.
    return `damaged (${error instanceof Error ? error.message : String(error)})`;
  }
}

/**
 * Write the record of a no-op `repro` of `basis`'s project that reported
 * `names`, every one up to date, by a check `witness` describes (see
 * {@link NoopWitness}), from a load cache of `key`. Whole, by a rename; a
 * failure is ignored (a miss costs only time).
 */
export function writeNoopRecord(
  basis: NoopRecordBasis,
  names: readonly string[],
  witness: NoopWitness,
  key: LoadCacheKey,
  file: FileStamp,
): void {
  const record: NoopRecord = {
    version: VERSION,
    names,
    snapshot: witness.snapshot,
    verified: witness.generation,
    objectDirs: witness.objectDirs,
    loadCache: key,
    loadCacheFile: [file.mtime, file.size, file.ino],
    config: configKey(basis.config),
  };
  const path = `${basis.project.stateDir}/${NOOP_RECORD_FILE}`;
  const temp = `${path}.${Deno.pid}.tmp`;
  try {
    Deno.writeTextFileSync(temp, JSON.stringify(record));
    Deno.renameSync(temp, path);
    mark("noop record: written");
  } catch {
    try {
      Deno.removeSync(temp);
    } catch {
      // never written
    }
  }
}
