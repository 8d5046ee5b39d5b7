/**
 * What `pivot doctor` reports: the facts a bug report needs, gathered
 * without loading the pipeline (so it works when the pipeline is broken),
 * and without failing on a broken project: each part reports its own
 * problem.
 *
 * Remote reachability plugs in through {@link REMOTE_PROBES}: one probe per
 * URL scheme; a remote with no probe is reported as not checked.
 *
 * @module
 */

import { dirname, isAbsolute, join, relative } from "node:path";
import { messageOf } from "../errors.ts";
import { jsrUrl } from "../jsr.ts";
import { isDirectory, isFile } from "../paths.ts";
import { findDenoConfig, findPipelineFile, findProject } from "../pipeline/find_project.ts";
import { readProjectConfig } from "../pipeline/project_config.ts";
import type { RemoteConfig } from "../remote/config.ts";
import { VERSION } from "../version.ts";
import { currentLaunch, type LaunchInfo } from "./launch_info.ts";

/** The result of one check. */
export interface CheckResult {
  /** `ok`, `failed`, or `unknown` (could not be checked). */
  readonly status: "ok" | "failed" | "unknown";
  /** What was found, in a few words. */
  readonly detail: string;
}

/** A remote as configured. */
export interface RemoteInfo {
  /** Its name under `remotes:`. */
  readonly name: string;
  /** Its URL (`s3://…`, or a directory). */
  readonly url: string;
  /** True for `core.remote`. */
  readonly isDefault: boolean;
  /** The file that defines it (`.pivot/config.yaml` or `config.local.yaml`). */
  readonly source: string;
  /** Whether it is reachable. */
  readonly reachable: CheckResult;
}

/** Checks whether a remote is reachable; resolves within a few seconds. */
export type RemoteProbe = (
  remote: { readonly name: string; readonly url: string; readonly settings: unknown },
  projectRoot: string,
) => Promise<CheckResult>;

/**
 * Reachability probes by URL scheme: `file` for a local directory, `s3` for
 * an S3-compatible bucket.
 */
const REMOTE_PROBES: Record<string, RemoteProbe> = {
  file: probeDirectoryRemote,
  s3: probeS3Remote,
};

/** Everything `pivot doctor` prints (`--json` shape). */
export interface DoctorReport {
  readonly pivot: { readonly version: string };
  readonly deno: {
    readonly version: string;
    readonly v8: string;
    readonly typescript: string;
    readonly path: string;
  };
  readonly os: { readonly os: string; readonly arch: string };
  readonly launch: LaunchInfo;
  readonly jsr: { readonly url: string; readonly fromEnv: boolean };
  readonly project: {
    readonly root: string;
    readonly pipeline: string | null;
    readonly denoConfig: string | null;
    readonly problem?: string;
  } | null;
  readonly config: readonly {
    readonly path: string;
    readonly present: boolean;
    readonly problem?: string;
  }[];
  readonly cache: {
    readonly dir: string;
    readonly type: string;
    readonly filesystem: string | null;
    readonly reflink: CheckResult;
  } | null;
  readonly remotes: readonly RemoteInfo[];
  readonly state: { readonly dir: string; readonly bytes: number } | null;
}

/**
 * Gather the report for a command run in `cwd`, with Pivot's `cli.ts` at
 * `mainUrl` (for how it was launched, when the launcher did not record it).
 */
export async function gatherReport(cwd: string, mainUrl: string): Promise<DoctorReport> {
  const base = {
    pivot: { version: VERSION },
    deno: {
      version: Deno.version.deno,
      v8: Deno.version.v8,
      typescript: Deno.version.typescript,
      path: Deno.execPath(),
    },
    os: { os: Deno.build.os, arch: Deno.build.arch },
    launch: currentLaunch(mainUrl),
    jsr: { url: jsrUrl(), fromEnv: Boolean(Deno.env.get("JSR_URL")) },
  };
  let project;
  try {
    project = findProject(cwd);
  } catch {
    return { ...base, project: null, config: [], cache: null, remotes: [], state: null };
  }
  const rel = (path: string) => relative(project.root, path) || ".";
  let pipeline: string | null = null;
  let problem: string | undefined;
  try {
    pipeline = findPipelineFile(project, cwd);
  } catch (error) {
    problem = messageOf(error);
  }
  const denoConfig = findDenoConfig(pipeline ? dirname(pipeline) : cwd) ?? null;

  const files = ["config.yaml", "config.local.yaml"].map((name) => join(project.pivotDir, name));
  const parsed = await Promise.all(files.map(readYamlMapping));
  const config = files.map((path, i) => ({
    path: rel(path),
    present: isFile(path),
    ...(parsed[i].problem ? { problem: parsed[i].problem } : {}),
  }));
  let settings;
  try {
    settings = await readProjectConfig(project);
  } catch (error) {
    config[0] = { ...config[0], problem: config[0].problem ?? messageOf(error) };
  }

  const cacheDir = settings?.cacheDir ?? project.cacheDir;
  const probeDir = isDirectory(cacheDir) ? cacheDir : project.pivotDir;
  const cache = {
    dir: rel(cacheDir),
    type: settings?.checkoutMode ?? String(cacheTypeOf(parsed[0].value) ?? "unknown"),
    filesystem: await filesystemType(probeDir),
    reflink: await probeReflink(probeDir),
  };

  const remotes = await remotesOf(parsed, files.map(rel), project.root);
  const state = { dir: rel(project.stateDir), bytes: await treeSize(project.stateDir) };
  return {
    ...base,
    project: {
      root: project.root,
      pipeline: pipeline ? rel(pipeline) : null,
      denoConfig,
      ...(problem ? { problem } : {}),
    },
    config,
    cache,
    remotes,
    state,
  };
}

/** A YAML file's top-level mapping (empty when absent), or the problem reading it. */
async function readYamlMapping(
  path: string,
): Promise<{ value: Record<string, unknown>; problem?: string }> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch {
    return { value: {} };
  }
  try {
    const { parse } = await import("yaml");
    const value = parse(text) ?? {};
    if (typeof value !== "object" || Array.isArray(value)) {
      return { value: {}, problem: "not a mapping of settings" };
    }
    return { value };
  } catch (error) {
    return { value: {}, problem: `not valid YAML: ${messageOf(error).split("\n")[0]}` };
  }
}

function cacheTypeOf(config: Record<string, unknown>): unknown {
  const cache = config.cache;
  return cache && typeof cache === "object" ? (cache as Record<string, unknown>).type : undefined;
}

/** The remotes of config.yaml and config.local.yaml (the local file wins), each probed. */
async function remotesOf(
  parsed: readonly { value: Record<string, unknown> }[],
  sources: readonly string[],
  root: string,
): Promise<RemoteInfo[]> {
  const merged = new Map<string, { settings: Record<string, unknown>; source: string }>();
  let defaultName: unknown;
  parsed.forEach(({ value }, i) => {
    const core = value.core as Record<string, unknown> | undefined;
    if (core?.remote !== undefined) defaultName = core.remote;
    const remotes = value.remotes;
    if (!remotes || typeof remotes !== "object") return;
    for (const [name, settings] of Object.entries(remotes)) {
      if (!settings || typeof settings !== "object") continue;
      const earlier = merged.get(name)?.settings ?? {};
      merged.set(name, {
        settings: { ...earlier, ...settings as Record<string, unknown> },
        source: sources[i],
      });
    }
  });
  return await Promise.all([...merged].map(async ([name, { settings, source }]) => {
    const url = typeof settings.url === "string" ? settings.url : "";
    return {
      name,
      url,
      isDefault: name === defaultName,
      source,
      reachable: await probeRemote({ name, url, settings }, root),
    };
  }));
}

async function probeRemote(
  remote: { name: string; url: string; settings: unknown },
  root: string,
): Promise<CheckResult> {
  if (remote.url === "") return { status: "failed", detail: "no url" };
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(remote.url)?.[1].toLowerCase() ?? "file";
  const probe = REMOTE_PROBES[scheme];
  if (!probe) return { status: "unknown", detail: `no reachability check for ${scheme}:// yet` };
  try {
    return await probe(remote, root);
  } catch (error) {
    return { status: "failed", detail: messageOf(error) };
  }
}

/** A directory remote is reachable when it is a directory this process may write. */
async function probeDirectoryRemote(
  remote: { readonly url: string },
  root: string,
): Promise<CheckResult> {
  const dir = remote.url.startsWith("file://")
    ? decodeURIComponent(new URL(remote.url).pathname)
    : isAbsolute(remote.url)
    ? remote.url
    : join(root, remote.url);
  if (!isDirectory(dir)) return { status: "failed", detail: `${dir} is not a directory` };
  const probe = join(dir, `.pivot-doctor-${Deno.pid}`);
  try {
    await Deno.writeTextFile(probe, "");
    await Deno.remove(probe);
    return { status: "ok", detail: `${dir} is writable` };
  } catch (error) {
    return { status: "failed", detail: `${dir}: ${messageOf(error)}` };
  }
}

/**
 * An S3 remote is reachable when one tiny listing of its prefix succeeds: the
 * endpoint answers, the credentials are accepted and the bucket exists (the
 * same check `push` and `fetch` make first). Bounded: 5 s per try, two tries.
 * The S3 client is imported only here, not on doctor's other paths.
 */
async function probeS3Remote(
  remote: { readonly name: string; readonly settings: unknown },
  root: string,
): Promise<CheckResult> {
  const { remoteSpec } = await import("../remote/config.ts");
  const { openS3 } = await import("../remote/s3.ts");
  const spec = remoteSpec(remote.name, remote.settings as RemoteConfig, root);
  if (spec.kind !== "s3") return { status: "failed", detail: `${spec.url} is not an s3:// URL` };
  const backend = await openS3(spec, { timeoutMs: 5_000 });
  try {
    await backend.check();
  } finally {
    backend.close();
  }
  return { status: "ok", detail: `listed ${spec.url}: endpoint, credentials and bucket work` };
}

/** The filesystem type of `dir` (`ext2/ext3`, `btrfs`, `xfs`, …), on Linux. */
async function filesystemType(dir: string): Promise<string | null> {
  if (Deno.build.os !== "linux") return null;
  const output = await runQuietly("stat", ["-f", "-c", "%T", dir]);
  return output?.trim() || null;
}

/**
 * Whether `dir`'s filesystem can clone files (FICLONE on Linux, clonefile on
 * macOS): copies a small temporary file with `cp --reflink=always` (`cp -c`
 * on macOS).
 */
async function probeReflink(dir: string): Promise<CheckResult> {
  const source = join(dir, `.pivot-reflink-${Deno.pid}`);
  const target = `${source}.clone`;
  try {
    await Deno.writeTextFile(source, "pivot doctor reflink probe\n");
  } catch (error) {
    return { status: "unknown", detail: `cannot write in ${dir}: ${messageOf(error)}` };
  }
  try {
    const args = Deno.build.os === "darwin" ? ["-c", source, target] : [
      "--reflink=always",
      source,
      target,
    ];
    const result = await runCommand("cp", args);
    if (result === undefined) return { status: "unknown", detail: "no cp command to probe with" };
    return result.success
      ? { status: "ok", detail: "the filesystem clones files (copy-on-write)" }
      : {
        status: "failed",
        detail: "the filesystem cannot clone files: reflink falls back to copy",
      };
  } finally {
    await Deno.remove(source).catch(() => {});
    await Deno.remove(target).catch(() => {});
  }
}

/** Total bytes of the files under `dir` (0 when absent). */
async function treeSize(dir: string): Promise<number> {
  let total = 0;
  try {
    for await (const entry of Deno.readDir(dir)) {
      const path = join(dir, entry.name);
      if (entry.isDirectory) total += await treeSize(path);
      else if (entry.isFile) total += (await Deno.stat(path)).size;
    }
  } catch {
    // absent or unreadable
  }
  return total;
}

async function runCommand(
  command: string,
  args: string[],
): Promise<{ success: boolean; stdout: string } | undefined> {
  try {
    const output = await new Deno.Command(command, {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "null",
      signal: AbortSignal.timeout(5_000),
    }).output();
    return { success: output.success, stdout: new TextDecoder().decode(output.stdout) };
  } catch {
    return undefined; // not installed, or timed out
  }
}

async function runQuietly(command: string, args: string[]): Promise<string | undefined> {
  const result = await runCommand(command, args);
  return result?.success ? result.stdout : undefined;
}
