/**
 * Which remote a command uses, and opening it: `-r NAME`, else `core.remote`,
 * else the only remote configured (SPEC §10). Opening checks the remote at
 * once (one bounded request), so bad credentials, a missing bucket or an
 * unreachable endpoint are one line naming the remote before anything is
 * planned.
 *
 * The remote layer (and with it the S3 client) is imported here lazily: no
 * command that does not talk to a remote pays for it.
 *
 * @module
 */

import { PivotError } from "../errors.ts";
import type { Project } from "../model/project.ts";
import type { ProjectConfig, RemoteConfig } from "../pipeline/project_config.ts";
import type { RemoteSpec } from "../remote/config.ts";
import type { Remote } from "../remote/transfer.ts";
import type { StateStore } from "../storage/state.ts";

/** A remote picked from the config. */
export interface ChosenRemote {
  /** Its name under `remotes:`. */
  readonly name: string;
  /** Its settings (both config files merged). */
  readonly config: RemoteConfig;
}

/**
 * The remote named `requested` (`-r NAME`), else the default (`core.remote`),
 * else the only one configured.
 *
 * @throws {PivotError} when `requested` names no remote, when none is
 * configured, or when there are several and no default.
 *
 * @example
 * ```ts ignore
 * const { name } = chooseRemote(config, undefined); // "origin", from core.remote
 * ```
 */
function chooseRemote(config: ProjectConfig, requested: string | undefined): ChosenRemote {
  const names = Object.keys(config.remotes);
  const name = requested ?? config.remote ?? (names.length === 1 ? names[0] : undefined);
  if (name === undefined) {
    throw new PivotError(
      names.length === 0
        ? "no remote is configured: add one with 'pivot remote add NAME URL' (URL: s3://bucket/prefix or a directory)"
        : `${names.length} remotes (${
          names.join(", ")
        }) and no default: pass -r NAME, or set one with 'pivot remote default NAME'`,
    );
  }
  const remote = config.remotes[name];
  if (remote === undefined) {
    throw new PivotError(
      `no remote named '${name}' (${
        names.length > 0 ? `remotes: ${names.join(", ")}` : "no remotes are configured"
      }): see 'pivot remote list'`,
    );
  }
  return { name, config: remote };
}

/** The spec of a chosen remote (a directory URL resolved against the project root). */
export async function specOf(project: Project, chosen: ChosenRemote): Promise<RemoteSpec> {
  const { remoteSpec } = await import("../remote/config.ts");
  return remoteSpec(chosen.name, chosen.config, project.root);
}

/** Options of {@link openCheckedRemote}. */
export interface OpenRemoteOptions {
  /** `-r NAME`. */
  readonly requested: string | undefined;
  /** `-j N`: parallel transfers (default: the remote's `jobs`, else 4 × cores). */
  readonly jobs: number | undefined;
}

/**
 * Choose, open and check the remote a command uses. The existence index is
 * loaded from `state`.
 *
 * @throws {PivotError} (exit 2) for a remote that cannot be chosen, and a
 * `RemoteError` naming the remote and what to check when it cannot be used.
 *
 * @example
 * ```ts ignore
 * const remote = await openCheckedRemote(project, config, state, { requested: "origin", jobs: 8 });
 * ```
 */
export async function openCheckedRemote(
  project: Project,
  config: ProjectConfig,
  state: StateStore,
  options: OpenRemoteOptions,
): Promise<Remote> {
  const spec = await specOf(project, chooseRemote(config, options.requested));
  const { openRemote } = await import("../remote/open.ts");
  const remote = await openRemote(
    spec,
    state,
    options.jobs === undefined ? {} : { jobs: options.jobs },
  );
  try {
    await remote.backend.check();
  } catch (error) {
    remote.backend.close();
    throw error;
  }
  return remote;
}
