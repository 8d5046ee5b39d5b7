/**
 * What a remote lacks of what the project records (`status --remote`, and
 * `verify --remote`): each out and tracked data whose object (for a
 * directory: its manifest, and then which of its files) the remote does not
 * hold, and whether the local cache could supply it (`pivot push` fixes
 * those).
 *
 * The remote is asked, not the remembered index (`refresh`): someone may
 * have removed objects from it. Existence still comes from listings a prefix
 * at a time, not one request per object (lib/remote/existence.ts).
 *
 * @module
 */

import { type EngineContext, stageKey } from "../engine/context.ts";
import type { Project } from "../model/project.ts";
import type { StageDef } from "../model/stage_def.ts";
import type { ProjectConfig } from "../pipeline/project_config.ts";
import type { Cache } from "../storage/cache.ts";
import type { Hash } from "../storage/hash.ts";
import { walkSkips } from "../storage/project_files.ts";
import type { StateStore } from "../storage/state.ts";
import type { Output } from "./output.ts";
import { openCheckedRemote } from "./remote_access.ts";
import {
  isManifestObject,
  readProjectRecords,
  type RecordedData,
  type Selection,
} from "./transfer_targets.ts";

/** One out or tracked data the remote lacks. */
export interface MissingRemotely {
  /** Project-relative path. */
  readonly path: string;
  /** The stage that produces it (undefined for tracked data). */
  readonly stage: string | undefined;
  /** A file's hash, or a directory's manifest hash. */
  readonly hash: Hash;
  /** For a directory whose manifest is local: how many of its files the remote lacks, of how many. */
  readonly files?: { readonly missing: number; readonly total: number };
  /** The local cache holds it all: `pivot push` can upload it. */
  readonly local: boolean;
}

/** What {@link remoteStatus} found. */
export interface RemoteStatus {
  /** The remote's name. */
  readonly remote: string;
  /** Outs and tracked data looked at. */
  readonly checked: number;
  /** Those the remote lacks, in whole or in part. */
  readonly missing: readonly MissingRemotely[];
}

/** Where {@link remoteStatus} looks. */
export interface RemoteStatusContext {
  readonly project: Project;
  readonly config: ProjectConfig;
  readonly state: StateStore;
  readonly cache: Cache;
}

/**
 * Which of `selection`'s outs and tracked data the remote (`requested`, or
 * the default) lacks.
 *
 * @throws {PivotError} when no remote can be chosen, and a `RemoteError` when
 * it cannot be reached or used.
 *
 * @example
 * ```ts ignore
 * const { missing } = await remoteStatus(context, selection, undefined);
 * ```
 */
async function remoteStatus(
  context: RemoteStatusContext,
  selection: Selection,
  requested: string | undefined,
): Promise<RemoteStatus> {
  const { cache, state } = context;
  const remote = await openCheckedRemote(context.project, context.config, state, {
    requested,
    jobs: undefined,
  });
  try {
    const { findPresent } = await import("../remote/existence.ts");
    const find = async (hashes: Iterable<Hash>) => {
      const wanted = new Map<Hash, number | undefined>();
      for (const hash of hashes) wanted.set(hash, localSize(cache, hash));
      if (wanted.size === 0) return new Set<Hash>();
      return await findPresent(remote.backend, remote.index, wanted, {
        jobs: remote.jobs,
        refresh: true,
      });
    };
    // Push uploads a directory's manifest last: present, it vouches for its
    // files, which are looked for only behind a missing manifest.
    const present = await find(selection.data.map((item) => item.hash));
    const manifests = new Map<Hash, Hash[]>();
    for (const item of selection.data) {
      if (present.has(item.hash) || !isDirectory(item, cache)) continue;
      const manifest = await cache.readManifest(item.hash);
      if (manifest) manifests.set(item.hash, manifest.files.map((file) => file.hash));
    }
    for (const hash of await find(new Set([...manifests.values()].flat()))) present.add(hash);
    await remote.index.save();
    const missing: MissingRemotely[] = [];
    for (const item of selection.data) {
      if (present.has(item.hash)) continue;
      const files = manifests.get(item.hash);
      const absent = files?.filter((file) => !present.has(file));
      missing.push({
        path: item.path,
        stage: item.stage?.name,
        hash: item.hash,
        ...(files ? { files: { missing: new Set(absent).size, total: new Set(files).size } } : {}),
        local: cache.has(item.hash) && (absent ?? []).every((file) => cache.has(file)),
      });
    }
    return { remote: remote.name, checked: selection.data.length, missing };
  } finally {
    remote.backend.close();
  }
}

/**
 * What the remote lacks of the outs of `shown` (as their lock files record
 * them) and, when no stage was `named`, of the project's tracked data too:
 * `status --remote` and `verify --remote`.
 *
 * @example
 * ```ts ignore
 * const status = await remoteStatusOfStages(session.context, graph.order, false, undefined);
 * ```
 */
export async function remoteStatusOfStages(
  context: EngineContext,
  shown: readonly StageDef[],
  named: boolean,
  requested: string | undefined,
): Promise<RemoteStatus> {
  const { project, state, cache } = context;
  const { readProjectConfig } = await import("../pipeline/project_config.ts");
  const skip = walkSkips(project.root, cache.dir);
  const records = await readProjectRecords(project, state, skip);
  const keys = new Set(shown.map((stage) => stageKey(context, stage)));
  const data = records.data.filter((item) => item.stage ? keys.has(item.stage.key) : !named);
  const stages = records.stages.filter((stage) => keys.has(stage.key));
  const config = await readProjectConfig(project, { state });
  return await remoteStatus(
    { project, config, state, cache },
    { data, stages, everything: !named },
    requested,
  );
}

/** One problem in the shape of `verify --json` (SPEC §6). */
export interface RemoteProblem {
  readonly stage?: string;
  readonly path: string;
  readonly problem: string;
}

/**
 * A {@link RemoteStatus} as `verify --remote` problems: one per out or
 * tracked data the remote lacks, saying what fixes it.
 *
 * @example
 * ```ts ignore
 * for (const p of remoteProblems(status)) output.error(`${p.path}: ${p.problem}`);
 * ```
 */
export function remoteProblems(status: RemoteStatus): RemoteProblem[] {
  return status.missing.map((item) => {
    const files = item.files && item.files.missing > 0
      ? ` (${item.files.missing} of its ${item.files.total} files)`
      : "";
    const what = `not on remote '${status.remote}'${files}`;
    const fix = item.local
      ? "'pivot push' uploads it"
      : item.stage
      ? `not in the local cache either: run 'pivot repro ${item.stage}', then 'pivot push'`
      : "not in the local cache either";
    return {
      ...(item.stage ? { stage: item.stage } : {}),
      path: item.path,
      problem: `${what}; ${fix}`,
    };
  });
}

/** Print a {@link RemoteStatus} after the status table. */
export function printRemoteStatus(output: Output, status: RemoteStatus): void {
  const { remote, checked, missing } = status;
  if (missing.length === 0) {
    output.line(
      `remote '${remote}': ${
        output.paint("green", "has everything")
      } (${checked} outs and tracked data)`,
    );
    return;
  }
  output.line(
    `remote '${remote}': ${
      output.paint("yellow", `lacks ${missing.length}`)
    } of ${checked} outs and tracked data`,
  );
  const width = Math.max(...missing.map((m) => m.path.length)) + 2;
  for (const item of missing) {
    const notes = [
      ...(item.stage ? [`stage ${item.stage}`] : ["tracked"]),
      ...(item.files ? [`${item.files.missing} of ${item.files.total} files missing`] : []),
      item.local ? "push uploads it" : "not in the local cache either",
    ];
    output.line(`  ${item.path.padEnd(width)}${notes.join("; ")}`);
  }
}

function isDirectory(item: RecordedData, cache: Cache): boolean {
  return item.isDir ?? isManifestObject(cache, item.hash);
}

function localSize(cache: Cache, hash: Hash): number | undefined {
  try {
    return Deno.statSync(cache.objectPath(hash)).size;
  } catch {
    return undefined;
  }
}
