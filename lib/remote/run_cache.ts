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

/** The folder name of a stage's entries: the xxhash64 of its key. */
export function stageId(stageKey: string): Promise<string> {
  return hashBytes(stageKey);
}

/** The input hashes of the entries the remote holds for `stageKey` (one listing). */
export async function listRunEntries(remote: Remote, stageKey: string): Promise<Set<Hash>> {
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
