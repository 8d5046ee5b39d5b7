/**
 * The user-global analysis cache: module summaries and registration scans
 * kept in a folder of the user's (`$XDG_CACHE_HOME/pivot/analyses`, chosen
 * by the command line), shared by every project this user's Pivot runs in.
 * A summary and a scan are pure functions of a module's text and of the
 * analyser that made them, so another clone or worktree of a repository, a
 * CI job with a restored `~/.cache`, or a project after `rm -rf .pivot`
 * takes them from here instead of loading TypeScript and parsing.
 *
 * What an entry depends on besides the text, all in its folder's name (a
 * digest) so that nothing else can serve it:
 * - `ANALYSIS_VERSION`, and for scans the scan rules' version;
 * - the TypeScript version the parser would be (read from where
 *   `typescript` resolves, without importing it);
 * - the analyser's own code: a digest of the sources in
 *   {@link ANALYSER_SOURCES} when Pivot runs from files (a checkout, or the
 *   sources a binary extracted), so an analyser edited without a version
 *   bump never reads an older result; Pivot's version and package address
 *   when it runs from JSR (a published version never changes);
 * - for scans, the runtime's globals (`_runtime_globals.ts`), which the scan
 *   refuses when a module uses one it does not declare.
 *
 * And in the entry's file name: the content hash and the module's extension
 * (which picks the syntax). The module's path is in neither: a summary holds
 * none, and a refused scan's reason, which starts with the path, is stored
 * without it and given the reader's path back.
 *
 * Entries are written whole (a temporary file renamed in the same folder);
 * one that cannot be read or parsed, or that does not hold what its name
 * says, is a miss, and the parse that follows writes it again. When a write
 * fails (a read-only folder, a full disk), writing stops for the rest of the
 * process; reads go on. Results are the same with the cache or without it:
 * only the time changes.
 *
 * @module
 */

import { hashBytes } from "../storage/hash.ts";
import { VERSION } from "../version.ts";
import { mark } from "../trace.ts";
import { RUNTIME_GLOBALS } from "./_runtime_globals.ts";
import type { ModuleSummary } from "./_summary.ts";
import type { ScanResult } from "./_registration_scan.ts";
import { typescriptVersion } from "./_typescript.ts";

/**
 * The modules whose code decides a summary or a scan, relative to this
 * folder: the analysis, the scan, what they import from Pivot, the call
 * that runs them (`fingerprint.ts`) and this cache's own encoding. A test
 * checks that it covers every module the analysis and the scan import.
 */
export const ANALYSER_SOURCES: readonly string[] = [
  "fingerprint.ts",
  "_analyze.ts",
  "_unit_writer.ts",
  "_summary.ts",
  "_typescript.ts",
  "_registration_scan.ts",
  "_runtime_globals.ts",
  "_user_cache.ts",
  "../storage/hash.ts",
  "../storage/_xxhash64_wasm.ts",
];

/** What the results of one Pivot depend on besides the text (see the module's notes). */
export interface AnalyserIdentity {
  /** `ANALYSIS_VERSION`. */
  readonly analysis: number;
  /** The registration scan's rules (`SCAN_RULES`). */
  readonly rules: number;
}

const opened = new Map<string, Promise<UserAnalysisCache | undefined>>();

/**
 * The cache in `folder` (absolute, this user's: the caller checked it) for
 * this Pivot's analyser; undefined when the analyser cannot be named (its
 * sources unreadable, TypeScript unresolved). One per folder and identity
 * per process.
 */
export function openUserCache(
  folder: string,
  identity: AnalyserIdentity,
): Promise<UserAnalysisCache | undefined> {
  const id = `${folder}\n${identity.analysis}\n${identity.rules}`;
  let cache = opened.get(id);
  if (!cache) {
    cache = open(folder, identity);
    opened.set(id, cache);
  }
  return cache;
}

async function open(
  folder: string,
  identity: AnalyserIdentity,
): Promise<UserAnalysisCache | undefined> {
  const typescript = typescriptVersion();
  const analyser = await analyserDigest();
  if (typescript === undefined || analyser === undefined) {
    mark("fingerprint: user cache off: the analyser cannot be named");
    return undefined;
  }
  const common = { analysis: identity.analysis, typescript, analyser };
  const globals = [...RUNTIME_GLOBALS].sort().join(",");
  const summaries = `${folder}/summary-${await hashBytes(JSON.stringify(common))}`;
  const scans = `${folder}/scan-${await hashBytes(
    JSON.stringify({ ...common, rules: identity.rules, globals }),
  )}`;
  return new UserAnalysisCache(summaries, scans);
}

/**
 * The analyser's code, named: the digest of {@link ANALYSER_SOURCES} read
 * from files (~150 KB, ~3 ms), or Pivot's version and address when it runs
 * from JSR; undefined when a source cannot be read.
 */
async function analyserDigest(): Promise<string | undefined> {
  const base = new URL(".", import.meta.url);
  if (base.protocol !== "file:") return `${VERSION} ${base.href}`;
  const parts: string[] = [];
  try {
    for (const source of ANALYSER_SOURCES) {
      const text = Deno.readTextFileSync(new URL(source, base));
      parts.push(`${source} ${text.length}\n${text}`);
    }
  } catch {
    return undefined;
  }
  return await hashBytes(parts.join("\n"));
}

/** A scan as stored: a refusal's reason without the module's path, which starts it. */
type StoredScan =
  | { readonly ok: true; readonly specifiers: string[] }
  | { readonly ok: false; readonly after: string };

/** Summaries and scans of one analyser, in two folders of the user's cache. */
export class UserAnalysisCache {
  readonly #summaries: string;
  readonly #scans: string;
  #writable = true;

  /** The cache whose summaries are in `summaries` and scans in `scans` (absolute folders). */
  constructor(summaries: string, scans: string) {
    this.#summaries = summaries;
    this.#scans = scans;
  }

  /** The summary of the module at `path` whose text has content hash `hash`, if kept. */
  summary(hash: string, path: string): ModuleSummary | undefined {
    const value = this.#read(this.#summaries, hash, path);
    return isSummary(value) ? value : undefined;
  }

  /** The registration scan of the module at `path` whose text has content hash `hash`, if kept. */
  scan(hash: string, path: string): ScanResult | undefined {
    const value = this.#read(this.#scans, hash, path);
    if (!isObject(value)) return undefined;
    if (value.ok === true && isStringList(value.specifiers)) {
      return { ok: true, specifiers: value.specifiers };
    }
    if (value.ok === false && typeof value.after === "string") {
      return { ok: false, reason: path + value.after };
    }
    return undefined;
  }

  /** Keep `summary` as that of the module at `path` with content hash `hash`. */
  putSummary(hash: string, path: string, summary: ModuleSummary): void {
    this.#write(this.#summaries, hash, path, summary);
  }

  /** Keep `scan` as the registration scan of the module at `path` with content hash `hash`. */
  putScan(hash: string, path: string, scan: ScanResult): void {
    let stored: StoredScan;
    if (scan.ok) stored = { ok: true, specifiers: scan.specifiers };
    else if (scan.reason.startsWith(path)) {
      stored = { ok: false, after: scan.reason.slice(path.length) };
    } else return; // a reason that does not start with the path: not shared
    this.#write(this.#scans, hash, path, stored);
  }

  #read(folder: string, hash: string, path: string): unknown {
    const name = entryName(hash, path);
    if (name === undefined) return undefined;
    try {
      const entry: unknown = JSON.parse(Deno.readTextFileSync(`${folder}/${name}`));
      return isObject(entry) && entry.k === name ? entry.v : undefined;
    } catch {
      // Missing, unreadable or torn: a miss, written again after the parse.
      return undefined;
    }
  }

  #write(folder: string, hash: string, path: string, value: unknown): void {
    const name = entryName(hash, path);
    if (!this.#writable || name === undefined) return;
    const file = `${folder}/${name}`;
    const temp = `${file}.${Deno.pid}.tmp`;
    try {
      Deno.mkdirSync(folder, { recursive: true, mode: 0o700 });
      Deno.writeTextFileSync(temp, JSON.stringify({ k: name, v: value }), { mode: 0o600 });
      Deno.renameSync(temp, file);
    } catch (error) {
      this.#writable = false;
      try {
        Deno.removeSync(temp);
      } catch {
        // never made
      }
      mark(`fingerprint: user cache not written: ${(error as Error).message}`);
    }
  }
}

/**
 * The file name of the entry for content hash `hash` of a module at `path`:
 * the hash and the extension, which picks the syntax. Undefined for a hash
 * that is not 16 hex digits (never made by Pivot; not a file name).
 */
function entryName(hash: string, path: string): string | undefined {
  if (!/^[0-9a-f]{16}$/.test(hash)) return undefined;
  const ext = /\.([^./]+)$/.exec(path)?.[1].toLowerCase() ?? "";
  return `${hash}.${/^[a-z0-9]{1,8}$/.test(ext) ? ext : "_"}.json`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isStringList(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === "string");
}

/** The shape of a {@link ModuleSummary}, checked as far as a cache entry needs. */
function isSummary(value: unknown): value is ModuleSummary {
  return isObject(value) && isObject(value.decls) && isObject(value.imports) &&
    isObject(value.exports) && Array.isArray(value.stars) && isStringList(value.specifiers) &&
    Array.isArray(value.sites) && Array.isArray(value.fills) && isObject(value.rest);
}
