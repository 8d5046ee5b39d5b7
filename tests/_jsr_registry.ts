/**
 * A JSR registry on loopback, for tests: real `deno publish` uploads go in
 * through its publish API, and `deno run jsr:…` / `deno install jsr:…` read
 * the packages back out, exactly as they would from jsr.io (Deno takes the
 * registry's address from `JSR_URL`).
 *
 * What it implements, learned from Deno's `cli/tools/publish` and JSR's
 * `api/src/tarball.rs` and `api/src/metadata.rs`:
 *
 * - `GET  api/scopes/<scope>/packages/<name>`: 200 for a package created
 *   beforehand (`--package`), else 404 (`deno publish` then stops and asks
 *   the user to create it, as on jsr.io).
 * - `POST api/scopes/<scope>/packages/<name>/versions/<version>?config=/deno.json`:
 *   the gzipped tarball `deno publish` builds, with `Authorization: Bearer
 *   <token>` (`deno publish --token`). Answers with a publishing task; with
 *   `--poll` the task stays `processing` until Deno polls
 *   `api/publish_status/<id>` (as on jsr.io, where tasks are queued).
 * - The checks JSR makes before accepting a version: regular files with
 *   valid paths only, no case-insensitive duplicates, the config file present
 *   with the same name and version, non-empty exports that exist, a license,
 *   and a module graph (from the exports) whose specifiers are relative
 *   imports of files in the package, `jsr:` with a version constraint that
 *   resolves to a version published here with that export, `npm:` with a
 *   version constraint, `node:` or `data:`. A bare specifier that publishing
 *   did not rewrite, or an `https:` import, fails the upload as on JSR.
 * - `GET @<scope>/<name>/meta.json` (`versions` with `createdAt`, `latest`),
 *   `GET @<scope>/<name>/<version>_meta.json` (`manifest` of every file with
 *   `size` and `checksum` `sha256-<hex>`, and `exports`), and the files
 *   themselves under `@<scope>/<name>/<version>/`. JSR's `moduleGraph2` (an
 *   optional cache of each module's dependencies) is left out: Deno parses
 *   the modules instead.
 *
 * Versions are dated `--age-days` (default 7) in the past: Deno refuses JSR
 * versions younger than its minimum dependency age (24 hours).
 *
 * Run it as a process (the tests do, through {@link startJsrRegistry}):
 *
 * ```sh
 * deno run -A tests/_jsr_registry.ts --token secret --package @pivot/core --package @pivot/cli
 * ```
 *
 * It prints `{"url": "http://127.0.0.1:PORT/"}` once listening, and stops when
 * its standard input closes or after `--lifetime-s` seconds (default 900).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { unpackTar } from "modern-tar";
import semver from "semver";
import ts from "typescript";
import { spawn } from "./_harness.ts";

/** A failed publish, as JSR reports it: a code and a message. */
class PublishError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

interface PublishingTask {
  id: string;
  status: "pending" | "processing" | "success" | "failure";
  error: { code: string; message: string } | null;
  packageScope: string;
  packageName: string;
  packageVersion: string;
  createdAt: string;
  updatedAt: string;
}

interface PublishedVersion {
  readonly createdAt: string;
  readonly files: ReadonlyMap<string, Uint8Array>;
  readonly manifest: Record<string, { size: number; checksum: string }>;
  readonly exports: Record<string, string>;
}

interface PackageRecord {
  readonly scope: string;
  readonly name: string;
  readonly versions: Map<string, PublishedVersion>;
}

/** Options of the registry server. */
export interface RegistryOptions {
  /** The token `deno publish --token` must present. */
  readonly token: string;
  /** Packages that exist (created beforehand, as on jsr.io), `@scope/name`. */
  readonly packages: readonly string[];
  /** Leave tasks `processing` until their status is polled once. */
  readonly poll: boolean;
  /** How many days in the past versions are dated. */
  readonly ageDays: number;
}

const MODULE_EXTENSIONS = /\.(ts|tsx|mts|cts|js|jsx|mjs|cjs)$/;

const CONTENT_TYPES: Record<string, string> = {
  ts: "application/typescript",
  mts: "application/typescript",
  tsx: "text/tsx",
  js: "application/javascript",
  mjs: "application/javascript",
  jsx: "text/jsx",
  json: "application/json",
  md: "text/markdown",
};

/** The registry: packages in memory, served over HTTP by {@link Registry.handle}. */
export class Registry {
  readonly #options: RegistryOptions;
  readonly #packages = new Map<string, PackageRecord>();
  readonly #tasks = new Map<string, PublishingTask>();
  /** What finishing each unfinished task does (store the version, or record the error). */
  readonly #results = new Map<string, () => void>();
  #published = 0;

  constructor(options: RegistryOptions) {
    this.#options = options;
    for (const full of options.packages) {
      const match = /^@([a-z0-9-]+)\/([a-z0-9-]+)$/.exec(full);
      if (!match) throw new Error(`not a JSR package name: ${full}`);
      this.#packages.set(full, { scope: match[1], name: match[2], versions: new Map() });
    }
  }

  /** Answer one HTTP request. */
  async handle(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const path = decodeURIComponent(url.pathname);
    try {
      if (path.startsWith("/api/")) return await this.#api(request, path.slice(4), url);
      if (request.method === "GET" || request.method === "HEAD") return this.#serve(path);
      return apiError(405, "methodNotAllowed", `${request.method} ${path}`);
    } catch (error) {
      return apiError(500, "internalServerError", (error as Error).stack ?? String(error));
    }
  }

  async #api(request: Request, path: string, url: URL): Promise<Response> {
    const status = /^\/publish_status\/([^/]+)$/.exec(path);
    if (status && request.method === "GET") {
      const task = this.#tasks.get(status[1]);
      if (!task) return apiError(404, "publishingTaskNotFound", "publishing task not found");
      if (task.status === "processing") this.#finish(task);
      return Response.json(task);
    }
    const pkg = /^\/scopes\/([^/]+)\/packages\/([^/]+)$/.exec(path);
    if (pkg && request.method === "GET") {
      const record = this.#packages.get(`@${pkg[1]}/${pkg[2]}`);
      if (!record) return apiError(404, "packageNotFound", "package not found");
      return Response.json({
        scope: record.scope,
        name: record.name,
        latestVersion: latestOf(record) ?? null,
      });
    }
    const version = /^\/scopes\/([^/]+)\/packages\/([^/]+)\/versions\/([^/]+)$/.exec(path);
    if (version && request.method === "POST") {
      return await this.#upload(request, version[1], version[2], version[3], url);
    }
    return apiError(404, "notFound", `no API route ${request.method} ${path}`);
  }

  async #upload(
    request: Request,
    scope: string,
    name: string,
    version: string,
    url: URL,
  ): Promise<Response> {
    if (request.headers.get("authorization") !== `Bearer ${this.#options.token}`) {
      return apiError(401, "missingPermission", "the token does not allow publishing here");
    }
    const record = this.#packages.get(`@${scope}/${name}`);
    if (!record) return apiError(404, "packageNotFound", "package not found");
    const existing = [...this.#tasks.values()].find((task) =>
      task.packageScope === scope && task.packageName === name &&
      task.packageVersion === version && task.status !== "failure"
    );
    if (existing) {
      return Response.json({
        code: "duplicateVersionPublish",
        message: "a version with this name was already published",
        task: existing,
      }, { status: 409 });
    }
    const now = new Date().toISOString();
    const task: PublishingTask = {
      id: crypto.randomUUID(),
      status: "processing",
      error: null,
      packageScope: scope,
      packageName: name,
      packageVersion: version,
      createdAt: now,
      updatedAt: now,
    };
    this.#tasks.set(task.id, task);
    const body = new Uint8Array(await request.arrayBuffer());
    const config = url.searchParams.get("config") ?? "/deno.json";
    try {
      const gzipped = request.headers.get("content-encoding") === "gzip";
      const published = await this.#process(record, version, config, body, gzipped);
      this.#results.set(task.id, () => record.versions.set(version, published));
    } catch (error) {
      if (!(error instanceof PublishError)) throw error;
      this.#results.set(task.id, () => {
        task.error = { code: error.code, message: error.message };
      });
    }
    if (!this.#options.poll) this.#finish(task);
    return Response.json(task, { status: 202 });
  }

  #finish(task: PublishingTask): void {
    this.#results.get(task.id)?.();
    this.#results.delete(task.id);
    task.status = task.error ? "failure" : "success";
    task.updatedAt = new Date().toISOString();
  }

  /** JSR's checks on an uploaded tarball; the version to store. */
  async #process(
    record: PackageRecord,
    version: string,
    configPath: string,
    body: Uint8Array,
    gzipped: boolean,
  ): Promise<PublishedVersion> {
    if (!semver.valid(version)) throw new PublishError("invalidVersion", `invalid ${version}`);
    const tar = gzipped ? await gunzip(body) : body;
    let entries;
    try {
      entries = await unpackTar(tar);
    } catch (error) {
      throw new PublishError("invalidTarball", `invalid tarball: ${(error as Error).message}`);
    }
    const files = new Map<string, Uint8Array>();
    const lowerCase = new Map<string, string>();
    for (const entry of entries) {
      const path = entry.header.name.startsWith("./")
        ? entry.header.name.slice(1)
        : entry.header.name.startsWith("/")
        ? entry.header.name
        : `/${entry.header.name}`;
      const type = entry.header.type ?? "file";
      if (type === "directory") continue;
      if (type === "symlink" || type === "link") {
        throw new PublishError("linkInTarball", `entry at '${path}' is a link`);
      }
      if (type !== "file") {
        throw new PublishError("invalidEntryType", `entry at '${path}' is not a regular file`);
      }
      if (path.split("/").some((part) => part === ".." || part === ".") || path.includes("\\")) {
        throw new PublishError("invalidPath", `path '${path}' is invalid`);
      }
      if (path.startsWith("/.git/")) {
        throw new PublishError("invalidGitPath", `path '${path}' is invalid: .git files`);
      }
      const other = lowerCase.get(path.toLowerCase());
      if (other !== undefined) {
        throw new PublishError(
          "caseInsensitiveDuplicatePath",
          `case-insensitive duplicate path '${path}' and '${other}'`,
        );
      }
      lowerCase.set(path.toLowerCase(), path);
      files.set(path, entry.data ?? new Uint8Array());
    }

    const configBytes = files.get(configPath);
    if (!configBytes) {
      throw new PublishError("missingConfigFile", `missing config file '${configPath}'`);
    }
    let config: { name?: string; version?: string; exports?: unknown; license?: string };
    try {
      config = JSON.parse(new TextDecoder().decode(configBytes));
    } catch (error) {
      throw new PublishError("invalidConfigFile", `invalid config file: ${error}`);
    }
    const fullName = `@${record.scope}/${record.name}`;
    if (config.name !== fullName) {
      throw new PublishError(
        "configFileNameMismatch",
        `package name in '${configPath}' is ${config.name}, expected ${fullName}`,
      );
    }
    if (config.version !== undefined && config.version !== version) {
      throw new PublishError(
        "configFileVersionMismatch",
        `version in '${configPath}' is ${config.version}, expected ${version}`,
      );
    }
    const exports = normalizeExports(config.exports);
    if (Object.keys(exports).length === 0) {
      throw new PublishError("configFileExportsInvalid", "exports must have at least one entry");
    }
    const hasLicenseFile = [...files.keys()].some((p) => /^\/(LICEN[SC]E|COPYING)/i.test(p));
    if (!config.license && !hasLicenseFile) {
      throw new PublishError("missingLicense", "No license was specified.");
    }
    this.#checkGraph(files, Object.values(exports).map((target) => target.slice(1)));

    const manifest: PublishedVersion["manifest"] = {};
    for (const [path, bytes] of files) {
      manifest[path] = { size: bytes.byteLength, checksum: `sha256-${await sha256Hex(bytes)}` };
    }
    // Dated in the past (Deno's minimum dependency age), in publishing order.
    const createdAt = new Date(
      Date.now() - this.#options.ageDays * 86_400_000 + this.#published++ * 1000,
    ).toISOString();
    return { createdAt, files, manifest, exports };
  }

  /** The module graph from `roots`, with JSR's rules for specifiers. */
  #checkGraph(files: ReadonlyMap<string, Uint8Array>, roots: readonly string[]): void {
    const seen = new Set<string>();
    const queue = [...roots];
    while (queue.length > 0) {
      const path = queue.pop()!;
      if (seen.has(path)) continue;
      seen.add(path);
      const bytes = files.get(path);
      if (!bytes) {
        throw new PublishError(
          "graphError",
          `failed to build module graph: Module not found "${path}"`,
        );
      }
      if (!MODULE_EXTENSIONS.test(path)) continue;
      const source = new TextDecoder().decode(bytes);
      for (const { fileName: specifier } of ts.preProcessFile(source, true, true).importedFiles) {
        const next = this.#checkSpecifier(specifier, path);
        if (next !== undefined) queue.push(next);
      }
    }
  }

  /** Check one specifier of the module at `from`; a package path to follow, if any. */
  #checkSpecifier(specifier: string, from: string): string | undefined {
    if (/^\.{0,2}\//.test(specifier)) return new URL(specifier, `file://${from}`).pathname;
    const scheme = /^([a-z]+):/.exec(specifier)?.[1];
    if (scheme === "node" || scheme === "data" || scheme === "bun") return undefined;
    if (scheme === "npm") {
      const npm = /^npm:\/?((?:@[^/@]+\/)?[^/@]+)(?:@([^/]+))?/.exec(specifier);
      if (!npm?.[2]) {
        throw new PublishError(
          "missingConstraint",
          `specifier '${specifier}' is missing a version constraint`,
        );
      }
      return undefined;
    }
    if (scheme === "jsr") {
      const jsr = /^jsr:\/?(@[^/@]+\/[^/@]+)(?:@([^/]+))?(?:\/(.*))?$/.exec(specifier);
      if (!jsr) {
        throw new PublishError("invalidJsrSpecifier", `invalid 'jsr:' specifier: ${specifier}`);
      }
      const [, name, range, subPath] = jsr;
      if (!range) {
        throw new PublishError(
          "missingConstraint",
          `specifier '${specifier}' is missing a version constraint`,
        );
      }
      const record = this.#packages.get(name);
      const exportKey = subPath ? `./${subPath}` : ".";
      const match = [...record?.versions ?? []]
        .filter(([v]) => semver.satisfies(v, range))
        .sort(([a], [b]) => semver.rcompare(a, b))[0];
      if (!match) {
        throw new PublishError(
          "unresolvableJsrDependency",
          `unresolvable 'jsr:' dependency: '${name}@${range}', no published version matches the constraint`,
        );
      }
      if (!Object.hasOwn(match[1].exports, exportKey)) {
        throw new PublishError(
          "invalidJsrDependencySubPath",
          `'${specifier}' resolved to ${match[0]}, which has no export '${exportKey}'`,
        );
      }
      return undefined;
    }
    if (scheme !== undefined) {
      throw new PublishError(
        "invalidExternalImport",
        `invalid external import to '${specifier}' in ${from}, only 'jsr:', 'npm:', 'data:', 'bun:', and 'node:' imports are allowed`,
      );
    }
    throw new PublishError(
      "graphError",
      `failed to build module graph: Relative import path "${specifier}" not prefixed with / or ./ or ../ (in ${from})`,
    );
  }

  /** The package files and metadata, as jsr.io serves them. */
  #serve(path: string): Response {
    const match = /^\/(@[^/]+\/[^/]+)\/(.+)$/.exec(path);
    const record = match ? this.#packages.get(match[1]) : undefined;
    if (!match || !record || record.versions.size === 0) return notFound(path);
    const rest = match[2];
    if (rest === "meta.json") {
      return Response.json({
        scope: record.scope,
        name: record.name,
        latest: latestOf(record) ?? null,
        versions: Object.fromEntries(
          [...record.versions].map(([v, { createdAt }]) => [v, { createdAt }]),
        ),
      });
    }
    const versionMeta = /^([^/]+)_meta\.json$/.exec(rest);
    if (versionMeta) {
      const version = record.versions.get(versionMeta[1]);
      if (!version) return notFound(path);
      return Response.json({ manifest: version.manifest, exports: version.exports });
    }
    const slash = rest.indexOf("/");
    const version = slash > 0 ? record.versions.get(rest.slice(0, slash)) : undefined;
    const bytes = version?.files.get(rest.slice(slash));
    if (!bytes) return notFound(path);
    const extension = /\.([a-z]+)$/.exec(rest)?.[1] ?? "";
    return new Response(bytes.slice(), {
      headers: { "content-type": CONTENT_TYPES[extension] ?? "application/octet-stream" },
    });
  }
}

function latestOf(record: PackageRecord): string | undefined {
  return [...record.versions.keys()].filter((v) => semver.prerelease(v) === null)
    .sort(semver.rcompare)[0];
}

function normalizeExports(exports: unknown): Record<string, string> {
  if (typeof exports === "string") return { ".": normalizeTarget(exports) };
  if (exports && typeof exports === "object") {
    const result: Record<string, string> = {};
    for (const [key, value] of Object.entries(exports)) {
      if (typeof value !== "string") {
        throw new PublishError("configFileExportsInvalid", `export '${key}' is not a string`);
      }
      const name = key === "." ? "." : key.startsWith("./") ? key : `./${key}`;
      result[name] = normalizeTarget(value);
    }
    return result;
  }
  return {};
}

function normalizeTarget(target: string): string {
  return target.startsWith("./") ? target : `./${target.replace(/^\//, "")}`;
}

async function gunzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes.slice()]).stream().pipeThrough(new DecompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes.slice()));
  return [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function apiError(status: number, code: string, message: string): Response {
  return Response.json({ code, message }, { status });
}

function notFound(path: string): Response {
  return new Response(`not found: ${path}`, { status: 404 });
}

/** A registry process started by a test. */
export interface RunningRegistry extends AsyncDisposable {
  /** Its address, with a trailing slash: the value for `JSR_URL`. */
  readonly url: string;
  /** The token that publishing needs. */
  readonly token: string;
  /** Stop it (also done on dispose). */
  stop(): Promise<void>;
}

/**
 * Start the registry in a child process on 127.0.0.1 and wait until it
 * listens. It stops on {@link RunningRegistry.stop}, when this process's end
 * of its standard input closes, or after `lifetimeSeconds`.
 */
export async function startJsrRegistry(
  options: { packages: readonly string[]; poll?: boolean; lifetimeSeconds?: number },
): Promise<RunningRegistry> {
  const token = crypto.randomUUID();
  const child = spawn(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL(import.meta.url).pathname,
      "--token",
      token,
      "--lifetime-s",
      String(options.lifetimeSeconds ?? 900),
      ...(options.poll ? ["--poll"] : []),
      ...options.packages.flatMap((name) => ["--package", name]),
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  });
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the test registry exited before listening: ${text}`);
    text += value;
  }
  await reader.cancel();
  const { url } = JSON.parse(text.slice(0, text.indexOf("\n")));
  let stopped: Promise<void> | undefined;
  const stop = () =>
    stopped ??= (async () => {
      await child.stdin.close().catch(() => {});
      await child.status;
    })();
  return { url, token, stop, [Symbol.asyncDispose]: stop };
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      token: { type: "string" },
      package: { type: "string", multiple: true },
      poll: { type: "boolean" },
      "age-days": { type: "string" },
      "lifetime-s": { type: "string" },
      port: { type: "string" },
    },
  });
  if (!values.token) {
    console.error("usage: _jsr_registry.ts --token TOKEN --package @scope/name … [--poll]");
    Deno.exit(2);
  }
  const registry = new Registry({
    token: values.token,
    packages: values.package ?? [],
    poll: values.poll ?? false,
    ageDays: Number(values["age-days"] ?? 7),
  });
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: Number(values.port ?? 0),
    onListen: ({ port }) => console.log(JSON.stringify({ url: `http://127.0.0.1:${port}/` })),
  }, (request) => registry.handle(request));
  const lifetime = setTimeout(() => server.shutdown(), Number(values["lifetime-s"] ?? 900) * 1000);
  // Stop with the test that started it: its end of our stdin closes.
  (async () => {
    for await (const _ of Deno.stdin.readable) { /* wait for the end */ }
    clearTimeout(lifetime);
    await server.shutdown();
  })();
  await server.finished;
  clearTimeout(lifetime);
}
