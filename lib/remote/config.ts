/**
 * A remote's configuration, as written under `remotes:` in
 * `.pivot/config.yaml` or `.pivot/config.local.yaml` (SPEC §5; validated by
 * the config reader, lib/pipeline/project_config.ts), turned into a
 * {@link RemoteSpec}.
 *
 * @module
 */

import { isAbsolute, join, normalize } from "../posix_path.ts";
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

const SCHEME = /^([a-z][a-z0-9+.-]*):\/\//i;
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/**
 * What is wrong with a remote's `url`, or undefined when it is usable: an
 * `s3://` URL needs a valid bucket name; `file://` and plain paths are
 * directories; other schemes are not supported. The config reader
 * (lib/pipeline/project_config.ts) and {@link remoteSpec} both ask here, so
 * a URL refused at use was already refused when the config was read.
 *
 * @example
 * ```ts
 * import { remoteUrlProblem } from "./config.ts";
 * remoteUrlProblem("s3://bucket/team"); // undefined
 * remoteUrlProblem("gs://bucket"); // "unsupported URL scheme 'gs://' …"
 * ```
 */
export function remoteUrlProblem(url: string): string | undefined {
  const scheme = SCHEME.exec(url)?.[1]?.toLowerCase();
  if (scheme === undefined || scheme === "file") return undefined;
  if (scheme !== "s3") {
    return `unsupported URL scheme '${scheme}://' in ${url} (use s3://bucket/prefix or a directory path)`;
  }
  const bucket = url.slice("s3://".length).split("/")[0]!;
  if (!BUCKET.test(bucket)) {
    return `'${bucket}' in ${url} is not a valid bucket name (3-63 lowercase letters, digits, '.', '-')`;
  }
  return undefined;
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
  const problem = remoteUrlProblem(url);
  if (problem !== undefined) throw new PivotError(`remote '${name}': ${problem}`);
  const scheme = SCHEME.exec(url)?.[1]?.toLowerCase();
  if (scheme === "s3") {
    const rest = url.slice("s3://".length);
    const slash = rest.indexOf("/");
    const bucket = slash === -1 ? rest : rest.slice(0, slash);
    const path = slash === -1 ? "" : rest.slice(slash + 1).replace(/^\/+|\/+$/g, "");
    return { kind: "s3", name, url, bucket, prefix: path === "" ? "" : `${path}/`, config };
  }
  if (scheme === "file") return { kind: "directory", name, url, path: fromFileUrl(url), config };
  const path = normalize(isAbsolute(url) ? url : join(projectRoot, url));
  return { kind: "directory", name, url, path, config };
}
