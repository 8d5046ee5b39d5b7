/**
 * A remote's configuration, as written under `remotes:` in
 * `.pivot/config.yaml` or `.pivot/config.local.yaml` (SPEC §5), validated
 * into a {@link RemoteSpec}.
 *
 * @module
 */

import { isAbsolute, join, normalize } from "node:path";
import { PivotError } from "../errors.ts";
import { fromFileUrl } from "../paths.ts";

/** One remote's entry under `remotes:`, as written by the user. */
export interface RemoteConfig {
  /** `s3://bucket/prefix`, or a directory (absolute, project-relative, or `file://`). */
  readonly url: string;
  /** S3 endpoint, e.g. `http://127.0.0.1:9000` (MinIO, Ceph, R2…); AWS when absent. */
  readonly endpoint?: string;
  /** S3 region (default: the AWS CLI's lookup, then `us-east-1`). */
  readonly region?: string;
  /** A profile of `~/.aws/credentials` / `~/.aws/config`. */
  readonly profile?: string;
  /** Parallel transfers for this remote (default: 4 × cores). */
  readonly jobs?: number;
  /** Access key (keep it in `config.local.yaml`). */
  readonly access_key_id?: string;
  /** Secret key (keep it in `config.local.yaml`). */
  readonly secret_access_key?: string;
  /** Session token for temporary credentials. */
  readonly session_token?: string;
}

/** The keys a remote entry may have, with what each must be. */
const KEYS: Record<keyof RemoteConfig, "string" | "positive integer"> = {
  url: "string",
  endpoint: "string",
  region: "string",
  profile: "string",
  jobs: "positive integer",
  access_key_id: "string",
  secret_access_key: "string",
  session_token: "string",
};

/** A remote in an S3-compatible bucket. */
export interface S3RemoteSpec {
  /** Backend kind. */
  readonly kind: "s3";
  /** The remote's name in the config. */
  readonly name: string;
  /** The URL as configured. */
  readonly url: string;
  /** Bucket name. */
  readonly bucket: string;
  /** Key prefix inside the bucket: `""` or ending in `/`. */
  readonly prefix: string;
  /** The rest of the configuration. */
  readonly config: RemoteConfig;
}

/** A remote in a local or mounted directory. */
export interface DirectoryRemoteSpec {
  /** Backend kind. */
  readonly kind: "directory";
  /** The remote's name in the config. */
  readonly name: string;
  /** The URL as configured. */
  readonly url: string;
  /** Absolute path of the directory. */
  readonly path: string;
  /** The rest of the configuration. */
  readonly config: RemoteConfig;
}

/** A validated remote. */
export type RemoteSpec = S3RemoteSpec | DirectoryRemoteSpec;

/**
 * Check one `remotes:` entry read from `file`: an object with a string `url`
 * and only known keys of the right types. Throws a one-line
 * {@link PivotError} naming the file, the key and what is expected.
 *
 * @example
 * ```ts
 * import { validateRemoteConfig } from "./config.ts";
 * validateRemoteConfig("origin", { url: "s3://b/p" }, ".pivot/config.yaml");
 * ```
 */
export function validateRemoteConfig(name: string, value: unknown, file: string): RemoteConfig {
  const where = `${file}: remotes.${name}`;
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) {
    throw new PivotError(
      `${file}: remote name '${name}' may use only letters, digits, '_', '-' and '.'`,
    );
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new PivotError(`${where} must be a mapping with a 'url', got ${describe(value)}`);
  }
  for (const [key, v] of Object.entries(value)) {
    const expected = KEYS[key as keyof RemoteConfig];
    if (!expected) {
      throw new PivotError(
        `${where}.${key} is not a known key (expected one of: ${Object.keys(KEYS).join(", ")})`,
      );
    }
    const ok = expected === "string"
      ? typeof v === "string" && v !== ""
      : Number.isInteger(v) && (v as number) > 0;
    if (!ok) throw new PivotError(`${where}.${key} must be a ${expected}, got ${describe(v)}`);
  }
  if (!("url" in value)) {
    throw new PivotError(`${where} has no 'url' (s3://bucket/prefix or a directory)`);
  }
  return value as RemoteConfig;
}

/**
 * The spec of remote `name` from its (validated) config; a directory URL is
 * resolved against `projectRoot`.
 *
 * @example
 * ```ts
 * import { remoteSpec } from "./config.ts";
 * const spec = remoteSpec("origin", { url: "s3://bucket/team/pivot" }, "/project");
 * // spec.kind === "s3", spec.bucket === "bucket", spec.prefix === "team/pivot/"
 * ```
 */
export function remoteSpec(name: string, config: RemoteConfig, projectRoot: string): RemoteSpec {
  const url = config.url;
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
  if (scheme === "s3") {
    const rest = url.slice("s3://".length);
    const slash = rest.indexOf("/");
    const bucket = slash === -1 ? rest : rest.slice(0, slash);
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
      throw new PivotError(
        `remote '${name}': '${bucket}' in ${url} is not a valid bucket name (3-63 lowercase letters, digits, '.', '-')`,
      );
    }
    const path = slash === -1 ? "" : rest.slice(slash + 1).replace(/^\/+|\/+$/g, "");
    return { kind: "s3", name, url, bucket, prefix: path === "" ? "" : `${path}/`, config };
  }
  if (scheme === "file") return { kind: "directory", name, url, path: fromFileUrl(url), config };
  if (scheme !== undefined) {
    throw new PivotError(
      `remote '${name}': unsupported URL scheme '${scheme}://' in ${url} (use s3://bucket/prefix or a directory path)`,
    );
  }
  const path = normalize(isAbsolute(url) ? url : join(projectRoot, url));
  return { kind: "directory", name, url, path, config };
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  if (typeof value === "string") return `'${value}'`;
  return `${typeof value} ${String(value)}`;
}
