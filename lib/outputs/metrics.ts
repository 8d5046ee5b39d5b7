/**
 * Metrics: small JSON, YAML or one-row CSV/TSV files, flattened to dotted
 * keys (`train.loss`), read in the workspace or at a git revision, and
 * compared. `pivot metrics show|diff` and the web UI start here; the tables
 * are drawn by the CLI (docs/metrics.md).
 *
 * Which files are metrics: every `metric` out the loaded stages declare,
 * and every out of kind `metric` that a lock file of any pipeline of the
 * project records at the source (so a multi-pipeline project shows all its
 * metrics, wherever the command runs).
 *
 * At a revision a metric's content is found, in order: in the cache, by the
 * hash the lock file at that revision records (as for every out); in git,
 * when the committed file has that same hash (metrics are usually committed,
 * so a fresh clone still has them); in git, when no lock file records it (a
 * metric file given by path). Content that matches nothing is never guessed.
 *
 * @module
 */

import { PivotError } from "../errors.ts";
import type { StageDef } from "../model/stage_def.ts";
import type { Cache } from "../storage/cache.ts";
import { hashBytes } from "../storage/hash.ts";
import { readLock } from "../storage/lock_file.ts";
import type { StateStore } from "../storage/state.ts";
import { readFilesAtRevision } from "../storage/read_at_revision.ts";
import { parseYamlText } from "../yaml_text.ts";
import { flattenKeys, isPlainObject, sameValue } from "../flatten.ts";
import { parseDelimited } from "./plot_data.ts";
import {
  gitRev,
  lockedOutsAt,
  type OutsSource,
  readOutFile,
  sourceLabel,
} from "./outs_at_revision.ts";

/** One metric file's values, flattened: dotted key → value. */
export type FlatMetrics = Record<string, unknown>;

/** The formats of metric files, for messages. */
const METRIC_FORMATS = "JSON (.json), YAML (.yaml, .yml) or CSV/TSV with one row";

/** A metric file to read: its project-relative path and the stage producing it, if known. */
export interface MetricTarget {
  /** Project-relative POSIX path. */
  readonly path: string;
  /** The stage that produces it, if any. */
  readonly stage?: string;
}

/** A metric file at one source: its values, or why there are none. */
export type MetricVersion =
  | { readonly found: true; readonly values: FlatMetrics }
  | { readonly found: false; readonly reason: string };

/** One row of a metrics diff (SPEC §6 `metrics diff --json`). */
export interface MetricChange {
  /** The metric file. */
  readonly path: string;
  /** The dotted key. */
  readonly key: string;
  /** The value at the old source; `undefined` when absent. */
  readonly old: unknown;
  /** The value at the new source; `undefined` when absent. */
  readonly new: unknown;
  /** `new − old` when both are numbers, else null. */
  readonly change: number | null;
}

function extensionOf(path: string): string {
  const name = path.slice(path.lastIndexOf("/") + 1);
  const dot = name.lastIndexOf(".");
  return dot <= 0 ? "" : name.slice(dot + 1).toLowerCase();
}

/**
 * The flattened values of a metric file whose text is `text`, by the
 * extension of `path`: `.json` JSON, `.yaml`/`.yml` YAML, `.csv`/`.tsv` a
 * header and one row (numbers become numbers); any other extension is read
 * as JSON, then as YAML. The top level must be a mapping. `label` names the
 * file in errors (`metrics.json at HEAD`).
 *
 * @throws {PivotError} for text that is none of the formats, a top level
 * that is not a mapping, or a CSV with other than one row.
 *
 * @example
 * ```ts
 * await parseMetrics("scores.json", '{"acc": 0.9, "train": {"loss": 0.2}}', "scores.json");
 * // { acc: 0.9, "train.loss": 0.2 }
 * ```
 */
export async function parseMetrics(
  path: string,
  text: string,
  label: string,
): Promise<FlatMetrics> {
  const extension = extensionOf(path);
  let value: unknown;
  if (extension === "csv" || extension === "tsv") {
    value = await parseOneRow(text, extension === "tsv" ? "\t" : ",", label);
  } else if (extension === "json") {
    value = parseJson(text, label);
  } else if (extension === "yaml" || extension === "yml") {
    value = await parseYamlText(text, label);
  } else {
    try {
      value = JSON.parse(text);
    } catch {
      try {
        value = await parseYamlText(text, label);
      } catch {
        throw new PivotError(`${label}: not a metric file: metrics are ${METRIC_FORMATS}`);
      }
    }
  }
  if (!isPlainObject(value)) {
    throw new PivotError(
      `${label}: expected a mapping of metric names to values, got ${describe(value)}`,
    );
  }
  return flattenKeys(value);
}

function parseJson(text: string, label: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new PivotError(
      `${label}: not valid JSON (${(error as Error).message}): metrics are ${METRIC_FORMATS}`,
    );
  }
}

async function parseOneRow(
  text: string,
  delimiter: string,
  label: string,
): Promise<Record<string, unknown>> {
  const rows = await parseDelimited(text, delimiter, label);
  if (rows.length !== 1) {
    throw new PivotError(
      `${label}: holds ${rows.length} rows: a metric ${
        delimiter === "\t" ? "TSV" : "CSV"
      } file holds a header and one row`,
    );
  }
  return rows[0];
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return "nothing";
  if (Array.isArray(value)) return "a list";
  return `a ${typeof value}`;
}

/**
 * Every `metric` out of `stages`, in stage order.
 *
 * @example
 * ```ts
 * declaredMetrics(graph.order); // [{ path: "metrics.json", stage: "train" }]
 * ```
 */
export function declaredMetrics(stages: readonly StageDef[]): MetricTarget[] {
  return stages.flatMap((stage) =>
    stage.outs.filter((out) => out.kind === "metric" && !out.isDir).map((out) => ({
      path: out.path,
      stage: stage.name,
    }))
  );
}

/** Options of {@link metricsAt}. */
export interface MetricsAtOptions {
  /** Project root. */
  readonly root: string;
  /** The project's cache. */
  readonly cache: Cache;
  /** Lock files that may record the metrics at the source (`lockFilesFor` in outs_at_revision.ts). */
  readonly lockFiles: readonly string[];
  /**
   * Picks the metric files to read from those known at the source (the
   * declared ones, then those only the lock files know, sorted); default:
   * all of them. It may add files that are not known metrics.
   */
  readonly select?: (known: readonly MetricTarget[]) => readonly MetricTarget[];
  /** Metrics the loaded stages declare (read when `targets` is undefined). */
  readonly declared: readonly MetricTarget[];
  /** The state store: workspace lock files are parsed through its cache. */
  readonly state: StateStore;
}

/**
 * The metrics at `source`, by path, in order: the declared metrics, then
 * those only the lock files know, sorted (or those `options.select` picks).
 *
 * Needs read access to the project and its cache, and `--allow-run=git` for
 * a revision.
 *
 * @throws {PivotError} for a file that is not a metric file, an unknown
 * revision, a lock file at the revision that does not parse, or a corrupt
 * cache object.
 *
 * @example
 * ```ts
 * const now = await metricsAt(WORKSPACE, { root, cache, lockFiles, declared: declaredMetrics(graph.order) });
 * now.get("metrics.json"); // { found: true, values: { accuracy: 0.93 } }
 * ```
 */
export async function metricsAt(
  source: OutsSource,
  options: MetricsAtOptions,
): Promise<Map<string, MetricVersion>> {
  const label = sourceLabel(source);
  const locked = source.kind === "workspace"
    ? await workspaceLocks(options.root, options.lockFiles, options.state)
    : await lockedOutsAt(options.root, options.lockFiles, gitRev(source), {
      label: source.rev,
      state: options.state,
    });
  const known = withLocked(options.declared, locked);
  const targets = options.select ? options.select(known) : known;
  const result = new Map<string, MetricVersion>();
  if (source.kind === "workspace") {
    for (const { path } of targets) {
      let text: string;
      try {
        text = await Deno.readTextFile(`${options.root}/${path}`);
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
        result.set(path, { found: false, reason: "not in the workspace" });
        continue;
      }
      result.set(path, { found: true, values: await parseMetrics(path, text, path) });
    }
    return result;
  }
  // Git is asked only for what the cache cannot give (metrics recorded by a lock file
  // are usually in the cache): one `git cat-file` for all of them, none when none.
  const fromGit = new Set(
    targets.filter(({ path }) => {
      const entry = locked.get(path);
      return entry === undefined || !options.cache.has(entry.hash);
    }).map(({ path }) => path),
  );
  const inGit = fromGit.size === 0
    ? new Map<string, string | undefined>()
    : await readFilesAtRevision(options.root, [...fromGit], gitRev(source));
  for (const { path } of targets) {
    const at = `${path} at ${label}`;
    const entry = locked.get(path);
    const committed = inGit.get(path);
    let text: string | undefined;
    if (entry === undefined) {
      text = committed;
      if (text === undefined) {
        result.set(path, { found: false, reason: `not at ${label}` });
        continue;
      }
    } else if (!fromGit.has(path)) {
      const file = { path, file: options.cache.objectPath(entry.hash), hash: entry.hash };
      text = new TextDecoder().decode(await readOutFile(file));
    } else if (committed !== undefined && await hashBytes(committed) === entry.hash) {
      text = committed;
    } else {
      result.set(path, {
        found: false,
        reason:
          `its content at ${label} (${entry.hash}) is neither in the cache nor committed: fetch it ('pivot pull') or re-run the stage at that revision`,
      });
      continue;
    }
    result.set(path, { found: true, values: await parseMetrics(path, text, at) });
  }
  return result;
}

/** The metric outs recorded by lock files in the workspace, by path. */
async function workspaceLocks(
  root: string,
  lockFiles: readonly string[],
  state: StateStore,
): Promise<Map<string, { hash: string; kind: string; stage: string }>> {
  const result = new Map<string, { hash: string; kind: string; stage: string }>();
  for (const file of lockFiles) {
    const lock = await readLock(file, file.slice(root.length + 1), state);
    if (lock === undefined) continue;
    const stage = file.slice(file.lastIndexOf("/") + 1).replace(/\.lock$/, "");
    for (const out of lock.outs) result.set(out.path, { hash: out.hash, kind: out.kind, stage });
  }
  return result;
}

/** `declared`, then the metric outs only `locked` knows, sorted by path. */
function withLocked(
  declared: readonly MetricTarget[],
  locked: ReadonlyMap<string, { readonly kind: string; readonly stage: string }>,
): MetricTarget[] {
  const known = new Set(declared.map((target) => target.path));
  const extra = [...locked].filter(([path, out]) => out.kind === "metric" && !known.has(path))
    .map(([path, out]) => ({ path, stage: out.stage }))
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return [...declared, ...extra];
}

/** Options of {@link diffMetrics}. */
export interface DiffMetricsOptions {
  /** Also list keys whose value did not change (`--all`). */
  readonly all?: boolean;
}

/**
 * The rows of a metrics diff between `old` and `current`: every key of
 * every file present on either side, in file order (those of `current`
 * first), changed keys only unless `options.all`. A file missing on one side
 * shows its keys as added or removed.
 *
 * @example
 * ```ts
 * diffMetrics(
 *   new Map([["m.json", { found: true, values: { acc: 0.9 } }]]),
 *   new Map([["m.json", { found: true, values: { acc: 0.95 } }]]),
 * ); // [{ path: "m.json", key: "acc", old: 0.9, new: 0.95, change: 0.05 }]
 * ```
 */
export function diffMetrics(
  old: ReadonlyMap<string, MetricVersion>,
  current: ReadonlyMap<string, MetricVersion>,
  options: DiffMetricsOptions = {},
): MetricChange[] {
  const rows: MetricChange[] = [];
  for (const path of new Set([...current.keys(), ...old.keys()])) {
    const before = valuesOf(old.get(path));
    const after = valuesOf(current.get(path));
    for (const key of new Set([...Object.keys(after), ...Object.keys(before)])) {
      const had = Object.hasOwn(before, key);
      const has = Object.hasOwn(after, key);
      const oldValue = had ? before[key] : undefined;
      const newValue = has ? after[key] : undefined;
      if (!options.all && had && has && sameValue(oldValue, newValue)) continue;
      rows.push({
        path,
        key,
        old: oldValue,
        new: newValue,
        change: numericChange(oldValue, newValue),
      });
    }
  }
  return rows;
}

function valuesOf(version: MetricVersion | undefined): FlatMetrics {
  return version?.found ? version.values : {};
}

/**
 * `b − a` when both are finite numbers, rounded to the decimals the two
 * values have between them (so `0.93 − 0.91` is `0.02`, not
 * `0.020000000000000018`); null otherwise.
 *
 * @example
 * ```ts
 * numericChange(0.91, 0.93); // 0.02
 * numericChange("a", 1); // null
 * ```
 */
export function numericChange(a: unknown, b: unknown): number | null {
  if (typeof a !== "number" || typeof b !== "number") return null;
  if (!Number.isFinite(a) || !Number.isFinite(b)) return null;
  const decimals = Math.min(20, Math.max(decimalsOf(a), decimalsOf(b)));
  return Number((b - a).toFixed(decimals));
}

function decimalsOf(value: number): number {
  const text = String(value);
  const exponent = /e([+-]\d+)$/.exec(text);
  const mantissa = exponent ? text.slice(0, exponent.index) : text;
  const dot = mantissa.indexOf(".");
  const fraction = dot < 0 ? 0 : mantissa.length - dot - 1;
  return Math.max(0, fraction - (exponent ? Number(exponent[1]) : 0));
}
