/**
 * Does the workspace still hold what `dvc.lock` recorded for a stage? That
 * is `dvc status`'s question, and `pivot import-dvc` asks it of every stage:
 * a stage DVC considers up to date is recorded in Pivot's lock file, so that
 * the first `pivot repro` runs nothing DVC would not have run.
 *
 * As in DVC (`Stage.changed`): the command must be the one locked; the deps
 * and outs must be the locked paths, each with the locked md5 (a directory's
 * `.dir` md5 over its files); the params must have the locked values.
 *
 * @module
 */

import { isAbsolute, join, normalize, relative, resolve } from "node:path";
import type { StageDef } from "../model/stage_def.ts";
import type { DvcEntry, DvcLockStage } from "./dvc_files.ts";
import { dvcHash } from "./md5.ts";

/** Whether a stage matches its lock entry, and if not, the first reason why not. */
export type LockMatch = { readonly ok: true } | { readonly ok: false; readonly why: string };

/** Options of {@link matchLock}. */
export interface MatchOptions {
  /** Absolute project root (for `.dvcignore` paths). */
  readonly root: string;
  /** `.dvcignore`: whether a project-relative path is ignored (default: none is). */
  readonly ignored?: (path: string, isDir: boolean) => boolean;
}

/**
 * Compare command stage `stage` (loaded from the converted `pivot.yaml`)
 * with its `dvc.lock` entry `lock` and the workspace.
 *
 * @example
 * ```ts
 * const match = await matchLock(stage, lock.prepare, { root });
 * if (!match.ok) console.log(`prepare will run: ${match.why}`);
 * ```
 */
export async function matchLock(
  stage: StageDef,
  lock: DvcLockStage,
  options: MatchOptions,
): Promise<LockMatch> {
  const code = stage.code;
  if (code.kind !== "command") return { ok: false, why: "it is not a command stage" };
  if (!sameValue(code.cmd, lock.cmd)) return { ok: false, why: "its command changed" };
  const wdir = code.wdir;
  const key = (path: string) => normalize(isAbsolute(path) ? path : resolve(wdir, path));
  const paths = (defs: readonly { abs: string }[]) => new Set(defs.map((d) => normalize(d.abs)));

  const check = async (
    what: "dep" | "out",
    declared: Set<string>,
    locked: readonly DvcEntry[],
  ): Promise<LockMatch> => {
    const recorded = new Map(locked.map((entry) => [key(entry.path), entry]));
    for (const path of declared) {
      if (!recorded.has(path)) {
        return { ok: false, why: `dvc.lock has no ${what} '${shown(wdir, path)}'` };
      }
    }
    for (const [path, entry] of recorded) {
      if (!declared.has(path)) {
        return { ok: false, why: `dvc.lock has a ${what} '${entry.path}' the stage no longer has` };
      }
      if (entry.md5 === undefined) {
        return { ok: false, why: `dvc.lock has no md5 for '${entry.path}'` };
      }
      const rel = relative(options.root, path).split("\\").join("/");
      const now = await dvcHash(path, {
        legacy: !entry.plainMd5,
        ignored: options.ignored,
        rel,
      });
      if (now === undefined) return { ok: false, why: `'${entry.path}' is missing` };
      if (now.md5 !== entry.md5) {
        return { ok: false, why: `'${entry.path}' changed since DVC ran it` };
      }
    }
    return { ok: true };
  };

  const deps = await check("dep", paths(stage.deps), lock.deps);
  if (!deps.ok) return deps;
  const params = matchParams(paramsByFile(stage), lock.params);
  if (!params.ok) return params;
  return await check("out", paths(stage.outs), lock.outs);
}

/**
 * A command stage's params by file, as `dvc.lock` records them: the loader
 * keeps `params.yaml`'s keys at the top level and other files' under their name.
 */
function paramsByFile(stage: StageDef): Record<string, Record<string, unknown>> {
  const code = stage.code;
  if (code.kind !== "command") return {};
  const files = new Set(code.params.map((p) => p.file));
  const result: Record<string, Record<string, unknown>> = {};
  for (const { file, keys } of code.params) {
    if (file !== "params.yaml") {
      result[file] = (stage.params[file] ?? {}) as Record<string, unknown>;
      continue;
    }
    const names = keys ?? Object.keys(stage.params).filter((key) => !files.has(key));
    result[file] = Object.fromEntries(names.map((key) => [key, stage.params[key]]));
  }
  return result;
}

function matchParams(
  now: Readonly<Record<string, unknown>>,
  locked: DvcLockStage["params"],
): LockMatch {
  const files = new Set([...Object.keys(now), ...Object.keys(locked)]);
  for (const file of files) {
    const values = (now[file] ?? {}) as Record<string, unknown>;
    const recorded = locked[file] ?? {};
    for (const key of new Set([...Object.keys(values), ...Object.keys(recorded)])) {
      if (!Object.hasOwn(recorded, key)) {
        return { ok: false, why: `dvc.lock has no value of param '${key}' (${file})` };
      }
      if (!Object.hasOwn(values, key)) {
        return { ok: false, why: `param '${key}' (${file}) is no longer used` };
      }
      if (!sameValue(values[key], recorded[key])) {
        return { ok: false, why: `param '${key}' (${file}) changed since DVC ran it` };
      }
    }
  }
  return { ok: true };
}

/** Deep equality of plain data (numbers by value: YAML's `1` and `1.0` are equal, as in Python). */
function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length &&
      a.every((item, i) => sameValue(item, b[i]));
  }
  if (typeof a === "object" && a !== null && typeof b === "object" && b !== null) {
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    return ka.length === kb.length &&
      ka.every((k) =>
        Object.hasOwn(b, k) &&
        sameValue((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])
      );
  }
  return false;
}

function shown(wdir: string, path: string): string {
  const rel = relative(wdir, path);
  return rel.startsWith("..") ? path : join(rel);
}
