/**
 * The run history (SPEC §9, `pivot history` and `pivot show`): every
 * `repro`/`run` (each wave, in watch mode) is recorded in the state store
 * with its id, start, command, and each stage's status, reason and
 * duration. Runs past the configured limit (`core.history`, default 100)
 * are pruned, oldest first, so the store does not grow without bound.
 *
 * Layout in the state store (Deno KV):
 *
 * - `["runs", id]` → {@link RunHeader}: small, so listing runs is cheap;
 * - `["run-stages", id, n]` → chunk `n` of the run's stages (Deno KV caps a
 *   value at 64 KiB: a large pipeline's stages take several chunks);
 * - `["runs-count"]` → the number of runs recorded (a `Deno.KvU64`, kept
 *   with atomic sums, so recording needs no read).
 *
 * Ids sort by time: 8 base-36 digits of the start in milliseconds, then 4
 * random ones (`mi4b2k0x-3f9a`); a unique prefix names a run.
 *
 * Recording a run is one atomic commit (its header, its stages and the
 * count) and one point read of the count; pruning happens once the count
 * passes the limit by a tenth (so at most every tenth run pays for it).
 *
 * @module
 */

import type { StateStore } from "./state.ts";

/** How a stage ended in a run (SPEC §6). */
export interface RunStage {
  /** Stage name. */
  readonly name: string;
  /** `ran`, `skipped`, `restored`, `failed`, `blocked` or `cancelled`. */
  readonly status: string;
  /** Why (reasons joined by `,`, or what failed). */
  readonly reason: string;
  /** Time spent on it. */
  readonly duration_ms: number;
  /** The failure message, for a failed stage. */
  readonly error?: string;
}

/** A recorded run, without its stages. */
export interface RunHeader {
  /** Unique, sortable id. */
  readonly id: string;
  /** Start, as an ISO 8601 UTC timestamp. */
  readonly started: string;
  /** The command line (`pivot repro train`). */
  readonly command: string;
  /** Wall time. */
  readonly duration_ms: number;
  /** Stages by status: `{ ran: 2, skipped: 174 }`. */
  readonly counts: Readonly<Record<string, number>>;
  /** How many chunks hold its stages. */
  readonly chunks: number;
}

/** A recorded run with its stages, in the order they ended. */
export interface RunRecord extends Omit<RunHeader, "chunks"> {
  /** Each stage's outcome. */
  readonly stages: readonly RunStage[];
}

/** The default for `core.history`: how many runs are kept. */
export const DEFAULT_HISTORY_LIMIT = 100;

const RUNS = "runs";
const STAGES = "run-stages";
const COUNT = ["runs-count"];
// Deno KV allows 64 KiB a value; leave room for the key and encoding.
const CHUNK_BYTES = 60_000;
// ... and 800 KB, 1000 mutations a commit.
const COMMIT_BYTES = 700_000;

/**
 * A new run id for a run started at `started` (ms since the epoch).
 *
 * @example
 * ```ts
 * newRunId(Date.UTC(2026, 10, 30)); // "mijvw8ao-k3x9" (the last 4 characters are random)
 * ```
 */
export function newRunId(started: number): string {
  const time = started.toString(36).padStart(8, "0");
  const random = crypto.getRandomValues(new Uint32Array(1))[0].toString(36).padStart(7, "0");
  return `${time}-${random.slice(-4)}`;
}

/**
 * Record `run` and prune the oldest runs past `limit` (0 keeps none: nothing
 * is recorded).
 *
 * @example
 * ```ts
 * await recordRunHistory(state, { id, started, command: "pivot repro", duration_ms: 120, counts: { skipped: 3 }, stages }, 100);
 * ```
 */
export async function recordRunHistory(
  state: StateStore,
  run: RunRecord,
  limit: number,
): Promise<void> {
  if (limit <= 0) return;
  const kv = state.kv;
  const chunks = chunkStages(run.stages);
  const header: RunHeader = {
    id: run.id,
    started: run.started,
    command: run.command,
    duration_ms: run.duration_ms,
    counts: run.counts,
    chunks: chunks.length,
  };
  // Chunks first (in as few commits as fit), then the header with the count: a run is listed
  // only once all of its stages are there.
  let atomic = kv.atomic();
  let bytes = 0;
  for (const [n, chunk] of chunks.entries()) {
    if (bytes + chunk.size > COMMIT_BYTES) {
      await atomic.commit();
      atomic = kv.atomic();
      bytes = 0;
    }
    atomic.set([STAGES, run.id, n], chunk.stages);
    bytes += chunk.size;
  }
  await atomic.set([RUNS, run.id], header).sum(COUNT, 1n).commit();
  const count = Number((await kv.get<Deno.KvU64>(COUNT)).value?.value ?? 0n);
  if (count > limit + Math.max(1, Math.floor(limit / 10))) await pruneRuns(state, limit);
}

/**
 * A stage as a chunk stores it: a stage skipped as up to date (every stage
 * of a no-op run) by its name, or its name and duration when that is not 0;
 * anything else whole. A no-op of 2,000 stages then records about 20 KB,
 * not 140 KB.
 */
type StoredStage = RunStage | string | [string, number];

const UP_TO_DATE = { status: "skipped", reason: "up to date" } as const;

function stored(stage: RunStage): StoredStage {
  if (
    stage.status !== UP_TO_DATE.status || stage.reason !== UP_TO_DATE.reason ||
    stage.error !== undefined
  ) {
    return stage;
  }
  return stage.duration_ms === 0 ? stage.name : [stage.name, stage.duration_ms];
}

function restored(stage: StoredStage): RunStage {
  if (typeof stage === "string") return { name: stage, ...UP_TO_DATE, duration_ms: 0 };
  if (Array.isArray(stage)) return { name: stage[0], ...UP_TO_DATE, duration_ms: stage[1] };
  return stage;
}

function chunkStages(stages: readonly RunStage[]): { stages: StoredStage[]; size: number }[] {
  const chunks: { stages: StoredStage[]; size: number }[] = [{ stages: [], size: 2 }];
  for (const stage of stages) {
    const value = stored(stage);
    // Bytes in V8's serialization, at most: 2 a character, plus tags and lengths.
    const size = typeof value === "string"
      ? value.length * 2 + 8
      : Array.isArray(value)
      ? value[0].length * 2 + 24
      : JSON.stringify(value).length * 2 + 32;
    let last = chunks[chunks.length - 1];
    if (last.size + size > CHUNK_BYTES && last.stages.length > 0) {
      last = { stages: [], size: 2 };
      chunks.push(last);
    }
    last.stages.push(value);
    last.size += size;
  }
  return chunks;
}

/**
 * Delete the oldest runs so that at most `limit` remain; returns how many
 * were deleted. The count is set to what remains.
 *
 * @example
 * ```ts
 * await pruneRuns(state, 100);
 * ```
 */
async function pruneRuns(state: StateStore, limit: number): Promise<number> {
  const kv = state.kv;
  const ids: string[] = [];
  for await (const entry of kv.list<RunHeader>({ prefix: [RUNS] })) {
    ids.push(entry.key[1] as string);
  }
  const doomed = ids.slice(0, Math.max(0, ids.length - limit));
  for (const id of doomed) await deleteRun(state, id);
  await kv.set(COUNT, new Deno.KvU64(BigInt(ids.length - doomed.length)));
  return doomed.length;
}

async function deleteRun(state: StateStore, id: string): Promise<void> {
  const kv = state.kv;
  await kv.delete([RUNS, id]);
  for await (const entry of kv.list({ prefix: [STAGES, id] })) await kv.delete(entry.key);
}

/**
 * The recorded runs, newest first, at most `limit` of them (headers only).
 *
 * @example
 * ```ts
 * const latest = await listRuns(state, 10);
 * ```
 */
export async function listRuns(state: StateStore, limit?: number): Promise<RunHeader[]> {
  const runs: RunHeader[] = [];
  const options = limit === undefined ? { reverse: true } : { reverse: true, limit };
  for await (const entry of state.kv.list<RunHeader>({ prefix: [RUNS] }, options)) {
    runs.push(entry.value);
  }
  return runs;
}

/**
 * The run whose id is `id` or starts with it, with its stages; the latest
 * run when `id` is undefined; undefined when there is none.
 *
 * @throws {Error} (an `AmbiguousRunId`) when several runs start with `id`.
 *
 * @example
 * ```ts
 * const run = await readRun(state, "mi4b2k");
 * ```
 */
export async function readRun(state: StateStore, id?: string): Promise<RunRecord | undefined> {
  let header: RunHeader | undefined;
  if (id === undefined) header = (await listRuns(state, 1))[0];
  else {
    const matches: RunHeader[] = [];
    for await (const entry of state.kv.list<RunHeader>({ prefix: [RUNS] })) {
      if ((entry.key[1] as string).startsWith(id)) matches.push(entry.value);
    }
    if (matches.length > 1) throw new AmbiguousRunId(id, matches.map((run) => run.id));
    header = matches[0];
  }
  if (header === undefined) return undefined;
  return { ...omitChunks(header), stages: await readStages(state, header) };
}

/**
 * The stages of the run with `header`, in order.
 *
 * @example
 * ```ts
 * const stages = await readStages(state, header);
 * ```
 */
export async function readStages(state: StateStore, header: RunHeader): Promise<RunStage[]> {
  const stages: RunStage[] = [];
  for await (const entry of state.kv.list<StoredStage[]>({ prefix: [STAGES, header.id] })) {
    stages.push(...entry.value.map(restored));
  }
  return stages;
}

function omitChunks(header: RunHeader): Omit<RunHeader, "chunks"> {
  const { chunks: _, ...rest } = header;
  return rest;
}

/** Several runs have ids starting with the prefix given. */
export class AmbiguousRunId extends Error {
  override name = "AmbiguousRunId";
  /** The prefix and the ids that start with it. */
  constructor(readonly prefix: string, readonly ids: readonly string[]) {
    super(`run id '${prefix}' is ambiguous: ${ids.join(", ")}`);
  }
}
