/**
 * The key of the load cache (lib/cli/load_cache.ts) and its check, apart
 * from the cache's encoding, fingerprints and graph: what the record of a
 * no-op (lib/cli/noop_record.ts) checks on the launcher's fast answer, which
 * then loads no more than this (docs/performance.md, "176-stage no-op,
 * eleventh session").
 *
 * @module
 */

import type { Project } from "../model/project.ts";
import { escapesThroughLink } from "../model/project.ts";
import { pipelineFileIn } from "../pipeline/find_project.ts";
import type { ParamsYaml } from "../pipeline/params.ts";
import { type FileStamp, stampOf } from "../storage/state.ts";
import { PIVOT_IS_LOCAL, PIVOT_ROOT } from "../own_code.ts";
import { VERSION } from "../version.ts";

/** Bumped when the file's layout or what the key covers changes. */
export const FORMAT = 7;

/** The file, in the project's state directory. */
export function loadCachePath(project: Project): string {
  return `${project.stateDir}/load-cache.json`;
}

/** The key's parts that are not file stamps. */
export interface Identity {
  readonly pivot: string;
  readonly root: string;
  readonly pipelineFile: string;
  readonly denoConfig: string | null;
  readonly params: string;
}

/** The stamp of `project`'s load cache file; undefined when there is none. */
export function loadCacheStamp(project: Project): FileStamp | undefined {
  return statOf(loadCachePath(project));
}

/**
 * The part of a load cache its hit depends on besides its own content: the
 * identity (Pivot, the pipeline file, the Deno config, params overrides),
 * the files whose stamps must hold, the paths that must stay absent, the
 * directories probed for pipeline files, and one out in each directory the
 * stages' outs are in. The stages, graph, fingerprints and digests cached
 * are a function of what it names: while {@link loadCacheKeyDiffers} finds
 * it holding, they are what a load would give. Kept by a no-op's record
 * (lib/cli/noop_record.ts), which answers without decoding the cache.
 */
export interface LoadCacheKey {
  readonly format: number;
  readonly identity: Identity;
  readonly files: readonly (readonly [string, number, number, number])[];
  readonly absent: readonly string[];
  readonly probed: readonly (readonly [string, string | null])[];
  readonly outDirs: readonly (readonly [string, string])[];
}

/**
 * Undefined when every part of `key` (a load cache's, {@link LoadCacheKey})
 * still holds for `pipelineFile`; else why not, for the trace. Throws on a
 * damaged key (the caller's miss).
 */
export function loadCacheKeyDiffers(
  project: Project,
  pipelineFile: string,
  denoConfig: string | undefined,
  paramsYaml: ParamsYaml,
  key: LoadCacheKey,
): string | undefined {
  if (key?.format !== FORMAT) return "another format";
  const identity = identityOf(project, pipelineFile, denoConfig, paramsYaml);
  if (identity === undefined) return "Pivot is not local";
  const was = key.identity;
  for (const name of Object.keys(identity) as (keyof Identity)[]) {
    if (was[name] !== identity[name]) return `${name} changed`;
  }
  for (const [path, mtime, size, ino] of key.files) {
    const now = statOf(path);
    if (now === undefined || now.mtime !== mtime || now.size !== size || now.ino !== ino) {
      return `${path} changed`;
    }
  }
  for (const path of key.absent) {
    if (statOf(path) !== undefined) return `${path} appeared`;
  }
  for (const [dir, found] of key.probed) {
    if ((pipelineFileIn(dir) ?? null) !== found) return `${dir}: pipeline files changed`;
  }
  // As resolving outs does: an out directory must not lead outside through a link.
  const realDirs = new Map<string, string>();
  for (const [abs, path] of key.outDirs) {
    if (typeof abs !== "string" || typeof path !== "string") return "damaged";
    if (escapesThroughLink(project.root, abs, realDirs) !== undefined) {
      return `${path} leads outside the project`;
    }
  }
  return undefined;
}

/** The identity part of the key of `pipelineFile`'s cache; undefined when Pivot is not local. */
export function identityOf(
  project: Project,
  pipelineFile: string,
  denoConfig: string | undefined,
  paramsYaml: ParamsYaml,
): Identity | undefined {
  if (!PIVOT_IS_LOCAL) return undefined;
  return {
    pivot: `${VERSION} ${FORMAT} ${PIVOT_ROOT}`,
    root: project.root,
    pipelineFile,
    denoConfig: denoConfig ?? null,
    params: JSON.stringify(paramsYaml),
  };
}

/** The stamp of the file at `path`; undefined when it is not a file. */
export function statOf(path: string): FileStamp | undefined {
  try {
    const info = Deno.statSync(path);
    return info.isFile ? stampOf(info) : undefined;
  } catch {
    return undefined;
  }
}
