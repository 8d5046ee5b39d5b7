/**
 * Reading DVC's own files for `pivot import-dvc`: `dvc.lock` (what each
 * stage's last run consumed and produced, with DVC's md5 hashes), `.dvc`
 * files (data tracked with `dvc add` or imported with `dvc import`) and
 * `.dvc/config` (remotes). The formats follow DVC's `schema.py`,
 * `stage/serialize.py` and `output.py`: a lock file has `schema: '2.0'`
 * and `stages`, each with `cmd`, `deps` and `outs` (lists of `path`, `hash:
 * md5`, `md5`, `size`, and `nfiles` for a directory) and `params` (file →
 * key → value); DVC 1 wrote the stages at the top level.
 *
 * @module
 */

import { PivotError } from "../errors.ts";

/** A dep or out as DVC recorded it. */
export interface DvcEntry {
  /** The path as written in `dvc.yaml`, relative to the stage's `wdir`. */
  readonly path: string;
  /** The md5 (`….dir` for a directory), if recorded. */
  readonly md5: string | undefined;
  /** False for DVC 2 entries (no `hash: md5`): their files were hashed with md5-dos2unix. */
  readonly plainMd5: boolean;
  /** Size in bytes, if recorded. */
  readonly size: number | undefined;
  /** For a directory: its file count, if recorded. */
  readonly nfiles: number | undefined;
}

/** One stage of a `dvc.lock`. */
export interface DvcLockStage {
  /** The command DVC ran (after interpolation). */
  readonly cmd: string | readonly string[];
  /** Deps (params are apart). */
  readonly deps: readonly DvcEntry[];
  /** Param values by params file, then key. */
  readonly params: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  /** Outs, metrics and plots. */
  readonly outs: readonly DvcEntry[];
}

/** A `.dvc` file: data DVC tracks. */
export interface DvcFile {
  /** What it tracks: usually one out. */
  readonly outs: readonly (DvcEntry & { readonly cache: boolean })[];
  /** Where the data came from, for `dvc import`/`import-url` (else undefined). */
  readonly source: string | undefined;
  /** A `.dvc` file with a command (DVC 0.x stages) cannot be converted. */
  readonly cmd: string | undefined;
}

/** A DVC remote from `.dvc/config`. */
export interface DvcRemote {
  /** Its name. */
  readonly name: string;
  /** Its URL (`s3://bucket/path`, a directory, …). */
  readonly url: string;
  /** Other settings (`endpointurl`, `region`, …). */
  readonly settings: Readonly<Record<string, string>>;
  /** True when `core.remote` names it. */
  readonly isDefault: boolean;
}

async function parseYaml(text: string, label: string): Promise<unknown> {
  const { parse } = await import("yaml");
  try {
    return parse(text);
  } catch (error) {
    const message = (error as Error).message.split("\n")[0];
    throw new PivotError(`${label}: invalid YAML: ${message}`);
  }
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function entries(value: unknown, label: string, where: string): DvcEntry[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    throw new PivotError(`${label}: ${where} must be a list, got ${typeof value}`);
  }
  return value.map((item, index) => {
    if (!isMapping(item) || typeof item.path !== "string") {
      throw new PivotError(`${label}: ${where}[${index}] must have a 'path'`);
    }
    const number = (key: string) => typeof item[key] === "number" ? item[key] as number : undefined;
    return {
      path: item.path,
      md5: typeof item.md5 === "string" ? item.md5 : undefined,
      plainMd5: item.hash === "md5",
      size: number("size"),
      nfiles: number("nfiles"),
    };
  });
}

/**
 * Parse a `dvc.lock` (schema 2.0, or DVC 1's stages at the top level).
 *
 * @throws {PivotError} naming `label` for malformed YAML or an entry that is
 * not a lock entry.
 *
 * @example
 * ```ts
 * const lock = await parseDvcLock(text, "dvc.lock");
 * lock.prepare.cmd; // "python src/prepare.py data/data.xml"
 * ```
 */
export async function parseDvcLock(
  text: string,
  label: string,
): Promise<Record<string, DvcLockStage>> {
  const data = await parseYaml(text, label);
  if (data === null || data === undefined) return {};
  if (!isMapping(data)) throw new PivotError(`${label}: expected a mapping of stages`);
  let stages: unknown = data;
  if ("schema" in data) {
    if (String(data.schema) !== "2.0") {
      throw new PivotError(`${label}: unknown lock schema '${data.schema}' (Pivot reads 2.0)`);
    }
    stages = data.stages ?? {};
  }
  if (!isMapping(stages)) throw new PivotError(`${label}: 'stages' must be a mapping`);
  const result: Record<string, DvcLockStage> = {};
  for (const [name, stage] of Object.entries(stages)) {
    if (!isMapping(stage)) throw new PivotError(`${label}: stage '${name}' must be a mapping`);
    const cmd = stage.cmd;
    if (
      typeof cmd !== "string" && !(Array.isArray(cmd) && cmd.every((c) => typeof c === "string"))
    ) {
      throw new PivotError(`${label}: stage '${name}' has no 'cmd'`);
    }
    const params: Record<string, Record<string, unknown>> = {};
    if (isMapping(stage.params)) {
      for (const [file, values] of Object.entries(stage.params)) {
        if (isMapping(values)) params[file] = values;
      }
    }
    result[name] = {
      cmd: cmd as string | string[],
      deps: entries(stage.deps, label, `stage '${name}': deps`),
      params,
      outs: entries(stage.outs, label, `stage '${name}': outs`),
    };
  }
  return result;
}

/**
 * Parse a `.dvc` file.
 *
 * @throws {PivotError} naming `label` for malformed YAML or no `outs`.
 */
export async function parseDvcFile(text: string, label: string): Promise<DvcFile> {
  const data = await parseYaml(text, label);
  if (!isMapping(data)) throw new PivotError(`${label}: expected a mapping with 'outs'`);
  const outs = entries(data.outs, label, "outs").map((entry, index) => {
    const raw = (data.outs as Record<string, unknown>[])[index];
    return { ...entry, cache: raw.cache !== false };
  });
  let source: string | undefined;
  if (Array.isArray(data.deps) && data.deps.length > 0) {
    const dep = data.deps[0] as Record<string, unknown>;
    const repo = isMapping(dep.repo) ? dep.repo : undefined;
    source = repo && typeof repo.url === "string"
      ? `${repo.url} (${String(dep.path)})`
      : String(dep.path ?? "an external source");
  }
  return { outs, source, cmd: typeof data.cmd === "string" ? data.cmd : undefined };
}

/** What `pivot import-dvc` takes from `.dvc/config`. */
export interface DvcConfig {
  /** Remotes (`['remote "name"']` sections with a `url`). */
  readonly remotes: readonly DvcRemote[];
  /** `cache.dir`, as written (relative to `.dvc/`), if set. */
  readonly cacheDir: string | undefined;
}

/**
 * Read a `.dvc/config` (INI: `[core]`, `['remote "name"']`, `[cache]`).
 *
 * @example
 * ```ts
 * parseDvcConfig("[core]\n    remote = storage\n['remote \"storage\"']\n    url = s3://b/p\n").remotes;
 * // [{ name: "storage", url: "s3://b/p", settings: {}, isDefault: true }]
 * ```
 */
export function parseDvcConfig(text: string): DvcConfig {
  const sections = new Map<string, Record<string, string>>();
  let current: Record<string, string> | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const header = /^\[\s*'?(.*?)'?\s*\]$/.exec(line);
    if (header) {
      const name = header[1].replace(/\s+/g, " ");
      current = sections.get(name) ?? {};
      sections.set(name, current);
      continue;
    }
    const pair = /^([^=]+?)\s*=\s*(.*)$/.exec(line);
    if (pair && current) current[pair[1].trim()] = pair[2].trim();
  }
  const defaultRemote = sections.get("core")?.remote;
  const remotes: DvcRemote[] = [];
  for (const [section, values] of sections) {
    const match = /^remote "(.+)"$/.exec(section);
    if (!match || values.url === undefined) continue;
    const { url, ...settings } = values;
    remotes.push({ name: match[1], url, settings, isDefault: match[1] === defaultRemote });
  }
  return { remotes, cacheDir: sections.get("cache")?.dir };
}
