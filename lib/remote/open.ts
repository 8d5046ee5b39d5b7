/**
 * Opening a remote by its spec: the backend (the S3 client is imported here,
 * on first use, never on the start-up path of other commands) and the
 * existence index remembered in the state store.
 *
 * @module
 */

import type { StateStore } from "../storage/state.ts";
import type { RemoteSpec } from "./config.ts";
import { RemoteIndex } from "./existence.ts";
import type { S3Options } from "./s3.ts";
import type { Remote } from "./transfer.ts";

/** Options of {@link openRemote}. */
export interface OpenOptions {
  /** Parallel transfers (default: the remote's `jobs`, else 4 × cores). */
  readonly jobs?: number;
  /** Tuning of S3 remotes (timeouts, retries, part size). */
  readonly s3?: S3Options;
}

/** The default number of parallel transfers: 4 × cores. */
export function defaultJobs(): number {
  return 4 * (navigator.hardwareConcurrency || 1);
}

/**
 * Open remote `spec` with the state store `state` (where its index lives).
 * Makes no request: call `remote.backend.check()` to fail early on bad
 * credentials, a missing bucket or an unreachable endpoint.
 *
 * @example
 * ```ts ignore
 * const remote = await openRemote(remoteSpec("origin", config, root), state);
 * await remote.backend.check();
 * ```
 */
export async function openRemote(
  spec: RemoteSpec,
  state: StateStore,
  options: OpenOptions = {},
): Promise<Remote> {
  const backend = spec.kind === "s3"
    ? await (await import("./s3.ts")).openS3(spec, options.s3)
    : (await import("./directory.ts")).openDirectory(spec);
  const index = await RemoteIndex.load(state, backend.identity);
  return {
    name: spec.name,
    backend,
    index,
    jobs: options.jobs ?? spec.config.jobs ?? defaultJobs(),
  };
}
