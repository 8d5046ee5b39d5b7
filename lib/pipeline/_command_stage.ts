/**
 * Resolving a command stage of `pivot.yaml` (parsed by `_command_yaml.ts`)
 * into a {@link StageDef}: paths made project-relative against its working
 * directory, the values of the params it names read from their files, and
 * whether each path without a trailing `/` is a file or a directory.
 *
 * @module
 */

import { resolve } from "node:path";
import { messageOf, PivotError } from "../errors.ts";
import type { LoaderSpec } from "../model/loader_spec.ts";
import { type Project, projectRelative } from "../model/project.ts";
import type { CommandRef, DepDef, OutDef, PipelineRef, StageDef } from "../model/stage_def.ts";
import { statOrUndefined } from "../paths.ts";
import { readLock } from "../storage/lock_file.ts";
import { type FileStamp, NS, sameStamp, stampOf, type StateStore } from "../storage/state.ts";
import { didYouMean } from "../suggest.ts";
import { isPlainObject } from "./_values.ts";
import { lockFileOf, resolveArtifact, resolvePermissions } from "./_resolve_declared.ts";
import type { PivotYamlCommandStage } from "./_command_yaml.ts";

/** The params file a key without a file name is read from (in the stage's `wdir`), as in DVC. */
const DEFAULT_PARAMS_FILE = "params.yaml";

/** What a command stage's deps and outs are read and written with: by path. */
const PATH_ONLY: LoaderSpec = { kind: "pathOnly", options: {} };

/** Options of {@link resolveCommandStage}. */
export interface CommandStageOptions {
  /** Caches parsed params files by stamp, and reads the stage's lock file (kinds of outs). */
  readonly state: StateStore | undefined;
  /** The hash of the stage's command and working directory (computed with the parse). */
  readonly hash: string;
  /** Reads a params file (YAML or JSON) into plain values; undefined when it does not exist. */
  readonly readData: (abs: string) => unknown;
}

/**
 * The {@link StageDef} of command stage `entry` of the pipeline `pipeline`.
 *
 * @throws {PivotError} naming the stage's line for an out outside the
 * project, a path inside `.pivot/`, a params file that is missing or not a
 * mapping, a param key that is not in its file, or a path listed twice.
 */
export async function resolveCommandStage(
  project: Project,
  pipeline: PipelineRef,
  entry: PivotYamlCommandStage,
  options: CommandStageOptions,
): Promise<StageDef> {
  const wdir = resolve(pipeline.dir, entry.wdir);
  const where = () => entry.where;
  const at = `${entry.where}: stage '${entry.name}'`;
  const lockFile = lockFileOf(pipeline.dir, entry.name);
  const seen = new Set<string>();
  const once = (path: string, what: string) => {
    if (seen.has(path)) {
      throw new PivotError(`${at}: '${path}' is listed twice (${what}): list it once`);
    }
    seen.add(path);
  };

  const deps: DepDef[] = entry.deps.map((path) => {
    const dep = resolveArtifact(project, wdir, entry.name, {
      name: path,
      path,
      what: "dep",
      loader: PATH_ONLY,
    }, where);
    once(dep.path, "a dep");
    return inferKind(dep, path);
  });

  let lockDirs: Set<string> | undefined;
  const lockedAsDir = async (path: string) => {
    if (!options.state) return false;
    lockDirs ??= await dirsInLock(lockFile, projectRelative(project, lockFile), options.state);
    return lockDirs.has(path);
  };
  const outs: OutDef[] = [];
  for (const out of entry.outs) {
    const artifact = resolveArtifact(project, wdir, entry.name, {
      name: out.path,
      path: out.path,
      what: "out",
      loader: PATH_ONLY,
    }, where);
    once(artifact.path, out.kind === "out" ? "an out" : `a ${out.kind}`);
    let def = inferKind(artifact, out.path);
    if (def.kindInferred && !def.isDir && statOrUndefined(def.abs) === undefined) {
      if (await lockedAsDir(def.path)) def = { ...def, isDir: true };
    }
    outs.push({
      ...def,
      kind: out.kind,
      cache: out.cache,
      selfWritten: true,
      ...(out.persist ? { persist: true } : {}),
      ...(out.plot ? { plot: out.plot } : {}),
    });
  }

  const params: Record<string, unknown> = {};
  for (const { file, keys } of entry.params) {
    const abs = resolve(wdir, file);
    const label = projectRelative(project, abs);
    const data = await readParamsData(abs, label, options);
    if (data === undefined) {
      throw new PivotError(
        `${at}: params file '${file}' does not exist (${label}): create it, or remove it from the stage's params`,
      );
    }
    if (!isPlainObject(data)) {
      throw new PivotError(`${at}: params file ${label} must hold a mapping of params`);
    }
    if (keys === undefined) {
      // The default file's keys are the stage's params as they are (`train.epochs`), as
      // `dvc params show` lists them; another file's sit under its name.
      if (file === DEFAULT_PARAMS_FILE) Object.assign(params, data);
      else params[file] = data;
      continue;
    }
    const values: Record<string, unknown> = {};
    for (const key of keys) {
      const found = paramAt(data, key);
      if (!found.ok) {
        throw new PivotError(
          `${at}: param '${key}' is not in ${label}${
            didYouMean(key, found.candidates)
          }: add it there, or remove it from the stage's params`,
        );
      }
      values[key] = found.value;
    }
    if (file === DEFAULT_PARAMS_FILE) Object.assign(params, values);
    else params[file] = values;
  }

  const code: CommandRef = {
    kind: "command",
    commands: entry.commands,
    cmd: entry.cmd,
    wdir,
    hash: options.hash,
    params: entry.params,
    site: { file: projectRelative(project, pipeline.file), line: entry.line },
    files: [
      ...new Set([
        ...entry.files,
        ...entry.params.map((p) => resolve(wdir, p.file)),
      ]),
    ],
  };
  return {
    name: entry.name,
    baseName: entry.baseName,
    variant: entry.variant,
    pipeline,
    deps,
    outs,
    params,
    mutex: entry.mutex,
    permissions: resolvePermissions({}, pipeline.dir),
    lockFile,
    code,
    ...(entry.frozen ? { frozen: true } : {}),
    ...(entry.alwaysChanged ? { alwaysChanged: true } : {}),
  };
}

/**
 * A command stage's deps whose kind is still unknown (they do not exist
 * yet) take the kind of the out in `stages` that produces them.
 */
export function inferKindsFromProducers(stages: readonly StageDef[]): StageDef[] {
  const outs = new Map<string, boolean>();
  for (const stage of stages) {
    for (const out of stage.outs) outs.set(out.path, out.isDir);
  }
  return stages.map((stage) => {
    if (stage.code.kind !== "command") return stage;
    let changed = false;
    const deps = stage.deps.map((dep) => {
      const producedAsDir = outs.get(dep.path);
      if (!dep.kindInferred || producedAsDir === undefined || producedAsDir === dep.isDir) {
        return dep;
      }
      if (statOrUndefined(dep.abs) !== undefined) return dep;
      changed = true;
      return { ...dep, isDir: producedAsDir };
    });
    return changed ? { ...stage, deps } : stage;
  });
}

/**
 * A path written with a trailing `/` is a directory; one without is what is
 * on disk now, a file when nothing is there yet (then marked inferred).
 */
function inferKind<T extends DepDef>(artifact: T, written: string): T {
  if (written.endsWith("/")) return artifact;
  const info = statOrUndefined(artifact.abs);
  return { ...artifact, isDir: info?.isDirectory ?? false, kindInferred: true };
}

async function dirsInLock(lockFile: string, rel: string, state: StateStore): Promise<Set<string>> {
  const lock = await readLock(lockFile, rel, state);
  const dirs = new Set<string>();
  // A directory is recorded with its file count (or, in older lock files, its files).
  for (const entry of [...(lock?.outs ?? []), ...(lock?.deps ?? [])]) {
    if ((entry as { files?: unknown }).files !== undefined) dirs.add(entry.path);
  }
  return dirs;
}

/** The value at dotted `key` (`train.epochs`, `layers.0`), as DVC's `dpath.get` finds it. */
function paramAt(
  data: Record<string, unknown>,
  key: string,
): { ok: true; value: unknown } | { ok: false; candidates: string[] } {
  if (Object.hasOwn(data, key)) return { ok: true, value: data[key] };
  let current: unknown = data;
  const segments = key.split(".");
  for (const [i, segment] of segments.entries()) {
    if (Array.isArray(current) && /^\d+$/.test(segment) && Number(segment) < current.length) {
      current = current[Number(segment)];
    } else if (isPlainObject(current) && Object.hasOwn(current, segment)) {
      current = current[segment];
    } else {
      const prefix = segments.slice(0, i).join(".");
      const keys = isPlainObject(current) ? Object.keys(current) : [];
      return { ok: false, candidates: keys.map((k) => prefix === "" ? k : `${prefix}.${k}`) };
    }
  }
  return { ok: true, value: current };
}

interface CachedData extends FileStamp {
  readonly data: unknown;
}

// Deno KV refuses values over 64 KiB: a params file that large is re-read each time.
const MAX_CACHED_CHARS = 48_000;

/**
 * A params file's content, cached in the state store by the file's stamp
 * (so an unchanged file costs a `stat`, not a YAML parse).
 */
async function readParamsData(
  abs: string,
  label: string,
  options: CommandStageOptions,
): Promise<unknown> {
  const info = statOrUndefined(abs);
  if (info === undefined) return undefined;
  if (!info.isFile) {
    throw new PivotError(`${label}: a params file must be a file, found a directory`);
  }
  const stamp = stampOf(info);
  const key = [NS.parsed, "data", label];
  const cached = options.state && await options.state.get<CachedData>(key);
  if (cached && sameStamp(cached, stamp)) return cached.data;
  let data: unknown;
  try {
    data = options.readData(abs);
  } catch (error) {
    if (error instanceof PivotError) throw error;
    throw new PivotError(`${label}: cannot read: ${messageOf(error)}`, { cause: error });
  }
  if (options.state && JSON.stringify(data ?? null).length <= MAX_CACHED_CHARS) {
    options.state.defer(key, { ...stamp, data } satisfies CachedData);
  }
  return data;
}
