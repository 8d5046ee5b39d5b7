/**
 * Run-cache entries on a remote (`runs/<stage id>/<input hash>`, JSON), so
 * that a stage anyone ran with the same code, params and deps is restored
 * instead of run again (SPEC §10 `--run-cache`). Entries are opaque JSON
 * here; the engine validates them when it reads them.
 *
 * Push entries only after the objects they name: an entry on the remote then
 * promises that its outs can be fetched.
 *
 * @module
 */

import type { OutKind } from "../model/stage_def.ts";
import { canonicalJson, type Hash, hashBytes } from "../storage/hash.ts";
import { isHash, runEntryKey, runsPrefix } from "./layout.ts";
import type { Remote } from "./transfer.ts";
import { WorkQueue } from "./work_queue.ts";

/** One run-cache entry. */
export interface RunEntry {
  /** The stage's key (its lock file, project-relative). */
  readonly stageKey: string;
  /** The hash of the run's code, params and deps. */
  readonly inputHash: Hash;
  /** The recorded outs (opaque here). */
  readonly entry: unknown;
}

/**
 * One out of a run, as the engine's run cache records it (`RunCacheEntry`
 * in lib/engine/decide.ts, which the CLI checks this against).
 */
export interface RunOut {
  /** Project-relative path. */
  readonly path: string;
  /** A file's hash, or a directory's manifest hash. */
  readonly hash: Hash;
  /** Kind of out. */
  readonly kind: OutKind;
  /** True for a directory. */
  readonly isDir: boolean;
  /** For a directory: how many files it holds. */
  readonly files?: number;
  /** For a directory: the total size of its files. */
  readonly size?: number;
}

const OUT_KINDS: readonly OutKind[] = ["out", "metric", "plot", "incremental"];

/**
 * The outs of a run-cache entry read from a remote, validated (another
 * machine, or another version of Pivot, wrote it): an object with `outs`, a
 * list of `{path, hash, kind, isDir}` (plus `files` and `size` for a
 * directory). Returns what is wrong instead when it is not one.
 *
 * @example
 * ```ts
 * import { parseRunOuts } from "./run_cache.ts";
 * parseRunOuts({ outs: [{ path: "m.json", hash: "0123456789abcdef", kind: "out", isDir: false }] });
 * // [{ path: "m.json", hash: "0123456789abcdef", kind: "out", isDir: false }]
 * parseRunOuts({ outs: 3 }); // "'outs' is not a list"
 * ```
 */
export function parseRunOuts(entry: unknown): RunOut[] | string {
  if (
    entry === null || typeof entry !== "object" ||
    !Array.isArray((entry as { outs?: unknown }).outs)
  ) {
    return "'outs' is not a list";
  }
  const outs: RunOut[] = [];
  for (const [i, value] of (entry as { outs: unknown[] }).outs.entries()) {
    if (value === null || typeof value !== "object") return `outs[${i}] is not a mapping`;
    const { path, hash, kind, isDir, files, size } = value as Record<string, unknown>;
    if (
      typeof path !== "string" || path === "" || path.startsWith("/") ||
      path.split("/").includes("..")
    ) {
      return `outs[${i}].path is not a project-relative path`;
    }
    if (typeof hash !== "string" || !isHash(hash)) return `outs[${i}].hash is not a content hash`;
    if (!OUT_KINDS.includes(kind as OutKind)) {
      return `outs[${i}].kind is not one of ${OUT_KINDS.join(", ")}`;
    }
    if (typeof isDir !== "boolean") return `outs[${i}].isDir is not true or false`;
    const count = (n: unknown) => n === undefined || (Number.isInteger(n) && (n as number) >= 0);
    if (!count(files) || !count(size)) return `outs[${i}]: files and size must be whole numbers`;
    outs.push({
      path,
      hash,
      kind: kind as OutKind,
      isDir,
      ...(files === undefined ? {} : { files: files as number }),
      ...(size === undefined ? {} : { size: size as number }),
    });
  }
  return outs;
}

/** The folder name of a stage's entries: the xxhash64 of its key. */
export function stageId(stageKey: string): Promise<string> {
  return hashBytes(stageKey);
}

/** The input hashes of the entries the remote holds for `stageKey` (one listing). */
async function listRunEntries(remote: Remote, stageKey: string): Promise<Set<Hash>> {
  const prefix = runsPrefix(await stageId(stageKey));
  const found = new Set<Hash>();
  for await (const page of remote.backend.list(prefix)) {
    for (const { key } of page) {
      const input = key.slice(prefix.length);
      if (isHash(input)) found.add(input);
    }
  }
  return found;
}

/**
 * Upload the entries the remote lacks (one listing per stage); returns how
 * many were uploaded.
 */
export async function pushRunEntries(
  remote: Remote,
  entries: readonly RunEntry[],
  jobs = remote.jobs,
): Promise<number> {
  const byStage = Map.groupBy(entries, (e) => e.stageKey);
  const queue = new WorkQueue(jobs);
  let pushed = 0;
  for (const [stageKey, group] of byStage) {
    queue.add(async () => {
      const id = await stageId(stageKey);
      const present = await listRunEntries(remote, stageKey);
      for (const { inputHash, entry } of group) {
        if (present.has(inputHash)) continue;
        queue.add(async () => {
          const bytes = new TextEncoder().encode(canonicalJson(entry));
          await remote.backend.putBytes(runEntryKey(id, inputHash), bytes);
          pushed++;
        });
      }
    });
  }
  await queue.drain();
  return pushed;
}

/**
 * Download the entries of `stageKeys` that `known` says are not local yet.
 * An entry that is not valid JSON is reported through `onProblem` and skipped.
 */
export async function fetchRunEntries(
  remote: Remote,
  stageKeys: readonly string[],
  known: (stageKey: string, inputHash: Hash) => boolean | Promise<boolean>,
  options: { jobs?: number; onProblem?: (message: string) => void } = {},
): Promise<RunEntry[]> {
  const queue = new WorkQueue(options.jobs ?? remote.jobs);
  const fetched: RunEntry[] = [];
  for (const stageKey of new Set(stageKeys)) {
    queue.add(async () => {
      const id = await stageId(stageKey);
      for (const inputHash of await listRunEntries(remote, stageKey)) {
        if (await known(stageKey, inputHash)) continue;
        queue.add(async () => {
          const bytes = await remote.backend.getBytes(runEntryKey(id, inputHash));
          if (bytes === undefined) return;
          try {
            fetched.push({
              stageKey,
              inputHash,
              entry: JSON.parse(new TextDecoder().decode(bytes)),
            });
          } catch {
            options.onProblem?.(
              `${remote.backend.label}: run-cache entry ${
                runEntryKey(id, inputHash)
              } is not valid JSON; skipped`,
            );
          }
        });
      }
    });
  }
  await queue.drain();
  return fetched;
}
