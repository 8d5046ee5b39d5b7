/**
 * The project's settings: `.pivot/config.yaml` (tracked in git) and
 * `.pivot/config.local.yaml` (git-ignored: credentials, machine paths),
 * the local file winning key by key (SPEC §5, docs/config.md). Both are
 * optional; every setting has a default.
 *
 * They are read at a trust boundary, so they are validated, not cast: an
 * unknown key, a value of the wrong type or a malformed file is one line
 * naming the file, the line, the key and what is expected (exit 2), never
 * ignored.
 *
 * @module
 */

import { isAbsolute, join, resolve } from "../posix_path.ts";
import { PivotError } from "../errors.ts";
import type { Project } from "../model/project.ts";
import { statOrUndefined } from "../paths.ts";
import {
  CHECKOUT_MODES,
  type CheckoutMode,
  DEFAULT_CHECKOUT_MODE,
} from "../storage/checkout_mode.ts";
import { DEFAULT_HISTORY_LIMIT } from "../storage/run_history.ts";
import {
  type FileStamp,
  isRacy,
  NS,
  racyClock,
  sameStamp,
  stampOf,
  type StateStore,
} from "../storage/state.ts";
import { type RemoteConfig, remoteUrlProblem } from "../remote/config.ts";
import { closestMatch } from "../suggest.ts";
import { isPlainObject, yamlKindOf } from "./_values.ts";

/** One remote under `remotes:` (SPEC §10); defined with the remote layer that uses it. */
export type { RemoteConfig };

/** The project's settings, validated, with defaults filled in. */
export interface ProjectConfig {
  /** `cache.dir`: the cache directory (absolute). Default `.pivot/cache`. */
  readonly cacheDir: string;
  /** `cache.type`: how outs are placed in the workspace. */
  readonly checkoutMode: CheckoutMode;
  /** `core.jobs`: default parallelism; undefined: the number of cores. */
  readonly jobs: number | undefined;
  /** `core.history`: how many runs `pivot history` keeps (0: none are recorded). Default 100. */
  readonly history: number;
  /** `core.remote`: the default remote's name, if set (it names one of {@link remotes}). */
  readonly remote: string | undefined;
  /** `core.check`: type-check the pipeline before `repro`/`run` (as `--check`). */
  readonly check: boolean;
  /**
   * `core.user_cache`: use the user-global analysis cache
   * (docs/fingerprinting.md, "Three caches"). Default true.
   */
  readonly userCache: boolean;
  /** `remotes`: every remote by name. */
  readonly remotes: Readonly<Record<string, RemoteConfig>>;
  /** Warnings worth one line each (credentials in the tracked file). */
  readonly warnings: readonly string[];
}

/** The config files, as named in messages (project-relative). */
export const CONFIG_FILE = ".pivot/config.yaml";
/** The local, git-ignored config file. */
export const LOCAL_CONFIG_FILE = ".pivot/config.local.yaml";

// --- the schema ---

/** What a value must be. */
type Expected =
  | { readonly kind: "string" }
  | { readonly kind: "path" }
  | { readonly kind: "url" }
  | { readonly kind: "boolean" }
  | { readonly kind: "positive integer" }
  | { readonly kind: "whole number" }
  | { readonly kind: "one of"; readonly values: readonly string[] };

const REMOTE_KEYS: Readonly<Record<keyof RemoteConfig, Expected>> = {
  url: { kind: "string" },
  endpoint: { kind: "url" },
  region: { kind: "string" },
  profile: { kind: "string" },
  jobs: { kind: "positive integer" },
  access_key_id: { kind: "string" },
  secret_access_key: { kind: "string" },
  session_token: { kind: "string" },
};

/** The sections and their keys (`remotes` is a map of names to {@link REMOTE_KEYS}). */
const SECTIONS: Readonly<Record<string, Readonly<Record<string, Expected>>>> = {
  cache: { dir: { kind: "path" }, type: { kind: "one of", values: CHECKOUT_MODES } },
  core: {
    jobs: { kind: "positive integer" },
    history: { kind: "whole number" },
    remote: { kind: "string" },
    check: { kind: "boolean" },
    user_cache: { kind: "boolean" },
  },
};

const SECRET_KEYS = ["access_key_id", "secret_access_key", "session_token"];

// --- reading ---

/** One file's validated settings, with where each came from. */
interface FileSettings {
  /** The file as named in messages. */
  readonly file: string;
  /** Its settings, validated (a subset of the schema). */
  readonly values: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  /** `file:line` of a setting's key path. */
  readonly where: Readonly<Record<string, string>>;
}

interface CachedConfig {
  readonly stamps: readonly (FileStamp | null)[];
  readonly files: readonly FileSettings[];
}

/**
 * Read and validate the project's config files (defaults when absent). With
 * `state`, the validated files are cached by their stamps, so an unchanged
 * config costs two `stat`s, not a YAML parse (nor the ~30 ms import of the
 * parser).
 *
 * Needs read permission for `.pivot/`.
 *
 * @throws {PivotError} one line naming the file, the line, the key and what
 * was expected: `.pivot/config.yaml:3: cache.type must be one of hardlink,
 * symlink, copy, got "reflnk"`.
 *
 * @example
 * ```ts
 * const config = await readProjectConfig(project);
 * config.checkoutMode; // "hardlink"
 * ```
 */
export async function readProjectConfig(
  project: Project,
  options: { readonly state?: StateStore } = {},
): Promise<ProjectConfig> {
  const paths = [CONFIG_FILE, LOCAL_CONFIG_FILE].map((file) => join(project.root, file));
  // Read before the stats: see isRacy.
  const clock = racyClock();
  const stamps = paths.map((path) => {
    try {
      return stampOf(Deno.statSync(path));
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return null;
      throw new PivotError(`${path}: cannot read: ${(error as Error).message}`);
    }
  });
  if (stamps.every((stamp) => stamp === null)) return resolveConfig(project, []);
  const key = [NS.parsed, "config"];
  const cached = await options.state?.get<CachedConfig>(key);
  let files: readonly FileSettings[];
  if (cached && cached.stamps.every((stamp, i) => sameStampOrBoth(stamp, stamps[i]))) {
    files = cached.files;
  } else {
    const read: FileSettings[] = [];
    for (const [i, file] of [CONFIG_FILE, LOCAL_CONFIG_FILE].entries()) {
      if (stamps[i] !== null) read.push(await readConfigFile(paths[i], file));
    }
    files = read;
    // A file edited in the last moments may change again without its stamp changing.
    if (stamps.every((stamp) => stamp === null || !isRacy(stamp, clock))) {
      options.state?.defer(key, { stamps, files } satisfies CachedConfig);
    }
  }
  return resolveConfig(project, files);
}

function sameStampOrBoth(a: FileStamp | null, b: FileStamp | null): boolean {
  return a === null || b === null ? a === b : sameStamp(a, b);
}

/** Parse and validate one config file. */
async function readConfigFile(path: string, file: string): Promise<FileSettings> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    throw new PivotError(`${file}: cannot read: ${(error as Error).message}`, { cause: error });
  }
  return await parseConfigText(text, file);
}

/**
 * Validate the config files as they would read with these texts (undefined:
 * the file is absent), both files and then their merge, exactly as
 * {@link readProjectConfig} would: for commands that edit them (`pivot config
 * set`, `pivot remote add`), which write nothing that would not read back.
 *
 * @throws {PivotError} as {@link readProjectConfig} does.
 *
 * @example
 * ```ts
 * await checkConfigTexts(project, ["core: { jobs: 4 }\n", undefined]);
 * ```
 */
export async function checkConfigTexts(
  project: Project,
  texts: readonly [string | undefined, string | undefined],
): Promise<ProjectConfig> {
  const files: FileSettings[] = [];
  for (const [i, file] of [CONFIG_FILE, LOCAL_CONFIG_FILE].entries()) {
    const text = texts[i];
    if (text !== undefined) files.push(await parseConfigText(text, file));
  }
  return resolveConfig(project, files);
}

/**
 * The path of a setting given by its dotted key (`core.jobs` →
 * `["core", "jobs"]`, `remotes.my.nas.url` → `["remotes", "my.nas", "url"]`:
 * a remote's name may hold dots, its setting is the last part), for `pivot
 * config get|set|unset`.
 *
 * @throws {PivotError} when the key names no setting, in the words of the
 * validation (with a did-you-mean).
 *
 * @example
 * ```ts
 * settingPath("core.jobs"); // ["core", "jobs"]
 * settingPath("core.jbos"); // throws: core.jbos is not a setting: did you mean core.jobs? (docs/config.md)
 * ```
 */
export function settingPath(key: string): string[] {
  const parts = key.split(".");
  const section = parts[0]!;
  if (section === "remotes") {
    const name = parts.slice(1, -1).join(".");
    const leaf = parts.at(-1)!;
    if (parts.length < 3 || name === "") {
      throw new PivotError(
        `${key} is not a setting: a remote's settings are remotes.NAME.KEY (KEY: ${
          Object.keys(REMOTE_KEYS).join(", ")
        })`,
      );
    }
    if (!/^[A-Za-z0-9_.-]+$/.test(name)) {
      throw new PivotError(`remote name '${name}' may use only letters, digits, '_', '-' and '.'`);
    }
    if (!(leaf in REMOTE_KEYS)) {
      throw new PivotError(
        unknownKey(key, Object.keys(REMOTE_KEYS).map((k) => `remotes.${name}.${k}`)),
      );
    }
    return ["remotes", name, leaf];
  }
  const keys = SECTIONS[section];
  if (keys === undefined) {
    const every = Object.entries(SECTIONS).flatMap(([name, keys]) =>
      Object.keys(keys).map((k) => `${name}.${k}`)
    );
    throw new PivotError(unknownKey(key, [...every, "remotes.NAME.url"]));
  }
  if (parts.length !== 2 || !(parts[1]! in keys)) {
    throw new PivotError(unknownKey(key, Object.keys(keys).map((k) => `${section}.${k}`)));
  }
  return [section, parts[1]!];
}

/** Parse and validate the text of one config file (`file` names it in messages). */
async function parseConfigText(text: string, file: string): Promise<FileSettings> {
  // `pivot init` writes comments only: no need to load `yaml` (~0.1 s) for those.
  if (commentsOnly(text)) return { file, values: {}, where: {} };
  const { parseYamlSource } = await import("./_yaml_source.ts");
  const source = parseYamlSource(text, file);
  const top = source.value;
  if (top === null || top === undefined) return { file, values: {}, where: {} };
  if (!isPlainObject(top)) {
    throw new PivotError(
      `${source.where([])}: expected a mapping of settings (cache:, core:, remotes:), got ${
        yamlKindOf(top)
      }`,
    );
  }
  const values: Record<string, Record<string, unknown>> = {};
  const where: Record<string, string> = {};
  const fail = (path: (string | number)[], message: string): never => {
    throw new PivotError(`${source.whereKey(path)}: ${message}`);
  };
  for (const [section, body] of Object.entries(top)) {
    const keys = SECTIONS[section];
    if (keys === undefined && section !== "remotes") {
      fail([section], unknownKey(section, [...Object.keys(SECTIONS), "remotes"]));
    }
    if (body === null || body === undefined) continue;
    if (!isPlainObject(body)) {
      fail(
        [section],
        `${section} must be a mapping (${
          section === "remotes" ? "remotes: { origin: { url: … } }" : `${section}: { key: value }`
        }), got ${yamlKindOf(body)}`,
      );
    }
    values[section] = {};
    if (section === "remotes") {
      for (const [name, remote] of Object.entries(body as Record<string, unknown>)) {
        values.remotes[name] = checkRemote(
          name,
          remote,
          (path, message) => fail(["remotes", name, ...path], message),
        );
        where[`remotes.${name}`] = source.whereKey(["remotes", name]);
      }
      continue;
    }
    for (const [name, value] of Object.entries(body as Record<string, unknown>)) {
      const expected = keys![name];
      if (expected === undefined) {
        fail(
          [section, name],
          unknownKey(`${section}.${name}`, Object.keys(keys!).map((k) => `${section}.${k}`)),
        );
      }
      const problem = check(value, expected);
      if (problem !== undefined) fail([section, name], `${section}.${name} ${problem}`);
      values[section][name] = value;
      where[`${section}.${name}`] = source.whereKey([section, name]);
    }
  }
  return { file, values, where };
}

/** Validate one remote's entry; `fail` throws with the path below it. */
function checkRemote(
  name: string,
  value: unknown,
  fail: (path: string[], message: string) => never,
): Record<string, unknown> {
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) {
    fail([], `remote name '${name}' may use only letters, digits, '_', '-' and '.'`);
  }
  if (!isPlainObject(value)) {
    return fail([], `remotes.${name} must be a mapping with a url, got ${yamlKindOf(value)}`);
  }
  for (const [key, item] of Object.entries(value)) {
    const expected = REMOTE_KEYS[key as keyof RemoteConfig];
    if (expected === undefined) {
      fail(
        [key],
        unknownKey(
          `remotes.${name}.${key}`,
          Object.keys(REMOTE_KEYS).map((k) => `remotes.${name}.${k}`),
        ),
      );
    }
    const problem = check(item, expected);
    if (problem !== undefined) fail([key], `remotes.${name}.${key} ${problem}`);
  }
  if (typeof value.url === "string") {
    const problem = remoteUrlProblem(value.url);
    if (problem !== undefined) fail(["url"], `remotes.${name}.url: ${problem}`);
  }
  return value;
}

/** What is wrong with `value` for `expected`, or undefined. */
function check(value: unknown, expected: Expected): string | undefined {
  const got = `got ${yamlKindOf(value)}`;
  switch (expected.kind) {
    case "string":
    case "path":
      return typeof value === "string" && value !== ""
        ? undefined
        : `must be ${expected.kind === "path" ? "a path" : "a non-empty string"}, ${got}`;
    case "url":
      return typeof value === "string" && /^https?:\/\/[^\s/]+/.test(value)
        ? undefined
        : `must be an http:// or https:// URL, ${got}`;
    case "boolean":
      return typeof value === "boolean" ? undefined : `must be true or false, ${got}`;
    case "positive integer":
      return Number.isInteger(value) && (value as number) > 0
        ? undefined
        : `must be a positive integer, ${got}`;
    case "whole number":
      return Number.isInteger(value) && (value as number) >= 0
        ? undefined
        : `must be a whole number (0 or more), ${got}`;
    case "one of":
      return expected.values.includes(value as string)
        ? undefined
        : `must be one of ${expected.values.join(", ")}, ${got}`;
  }
}

/** `<key> is not a setting`, with the closest known one or else the known ones. */
function unknownKey(key: string, known: readonly string[]): string {
  const match = closestMatch(key, known);
  return `${key} is not a setting: ${
    match ? `did you mean ${match}?` : `expected one of ${known.join(", ")}`
  } (docs/config.md)`;
}

// --- merging ---

/** The settings of `files`, later files winning key by key, checked as a whole. */
function resolveConfig(project: Project, files: readonly FileSettings[]): ProjectConfig {
  const setting = (section: string, key: string) => {
    for (const settings of [...files].reverse()) {
      const value = settings.values[section]?.[key];
      if (value !== undefined) return { value, where: settings.where[`${section}.${key}`] };
    }
    return undefined;
  };
  const remotes: Record<string, Record<string, unknown>> = {};
  const remoteWhere: Record<string, string> = {};
  const warnings: string[] = [];
  for (const settings of files) {
    for (const [name, remote] of Object.entries(settings.values.remotes ?? {})) {
      remotes[name] = { ...remotes[name], ...(remote as Record<string, unknown>) };
      remoteWhere[name] ??= settings.where[`remotes.${name}`];
      if (settings.file === CONFIG_FILE) {
        for (const key of SECRET_KEYS.filter((k) => k in (remote as object))) {
          warnings.push(
            `${
              settings.where[`remotes.${name}`]
            }: remotes.${name}.${key} is a credential in a file tracked by git: move it to ${LOCAL_CONFIG_FILE}`,
          );
        }
      }
    }
  }
  for (const [name, remote] of Object.entries(remotes)) {
    if (typeof remote.url !== "string") {
      throw new PivotError(
        `${remoteWhere[name]}: remotes.${name} has no url (s3://bucket/prefix or a directory)`,
      );
    }
  }
  const remote = setting("core", "remote");
  if (remote !== undefined && !(remote.value as string in remotes)) {
    const names = Object.keys(remotes);
    throw new PivotError(
      `${remote.where}: core.remote is '${remote.value}', which is not a remote (${
        names.length > 0 ? `remotes: ${names.join(", ")}` : "no remotes are configured"
      })`,
    );
  }
  const dir = setting("cache", "dir");
  const cacheDir = dir === undefined
    ? project.cacheDir
    : isAbsolute(dir.value as string)
    ? dir.value as string
    : resolve(project.root, dir.value as string);
  const info = statOrUndefined(cacheDir);
  if (info !== undefined && !info.isDirectory) {
    throw new PivotError(
      `${
        dir?.where ?? CONFIG_FILE
      }: cache.dir is ${cacheDir}, which is a file: expected a directory (or a path where one can be made)`,
    );
  }
  return {
    cacheDir,
    checkoutMode: (setting("cache", "type")?.value as CheckoutMode | undefined) ??
      DEFAULT_CHECKOUT_MODE,
    jobs: setting("core", "jobs")?.value as number | undefined,
    history: (setting("core", "history")?.value as number | undefined) ?? DEFAULT_HISTORY_LIMIT,
    remote: remote?.value as string | undefined,
    check: (setting("core", "check")?.value as boolean | undefined) ?? false,
    userCache: (setting("core", "user_cache")?.value as boolean | undefined) ?? true,
    remotes: remotes as unknown as Record<string, RemoteConfig>,
    warnings,
  };
}

/** True when a YAML text has nothing but blank lines and comments. */
function commentsOnly(text: string): boolean {
  return text.split("\n").every((line) => /^\s*(#.*)?$/.test(line));
}
