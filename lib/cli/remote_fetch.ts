/**
 * Fetching what the cache lacks from the project's default remote, for
 * commands that read data at a revision (`pivot data get`): the remote
 * named by `core.remote` in `.pivot/config.yaml`, or the only remote when
 * there is one. The transfer itself is the remote layer's (`lib/remote/`,
 * docs/remotes.md), imported only when something is missing.
 *
 * @module
 */

import type { FetchMissing } from "../outputs/data_get.ts";
import type { Output } from "./output.ts";
import type { ProjectSession } from "./project_session.ts";

/**
 * A {@link FetchMissing} that fetches from the default remote into the
 * cache, with progress on a terminal; undefined when no remote is
 * configured.
 *
 * @example
 * ```ts ignore
 * const fetchMissing = defaultRemoteFetch(session, env.output);
 * ```
 */
export function defaultRemoteFetch(
  session: ProjectSession,
  output: Output,
): FetchMissing | undefined {
  const { config } = session;
  const names = Object.keys(config.remotes);
  const name = config.remote ?? (names.length === 1 ? names[0] : undefined);
  if (name === undefined) return undefined;
  // The config's validation already checked that core.remote names a remote.
  const settings = config.remotes[name]!;
  return async (missing) => {
    const { remoteSpec } = await import("../remote/config.ts");
    const { openRemote } = await import("../remote/open.ts");
    const { TransferProgress } = await import("../remote/progress.ts");
    const { fetchObjects } = await import("../remote/transfer.ts");
    const remote = await openRemote(
      remoteSpec(name, settings, session.project.root),
      session.state,
    );
    const progress = new TransferProgress({
      verb: `fetch from '${name}'`,
      status: (line) => output.status(line),
    });
    try {
      await fetchObjects(remote, session.cache, session.state, missing, {
        progress,
        onProblem: (line) => output.error(`warning: ${line}`),
      });
    } finally {
      output.clearStatus();
    }
  };
}
