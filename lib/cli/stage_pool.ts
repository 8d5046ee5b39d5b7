/**
 * The worker pool of a command's stages, and what its workers may load.
 * Shared by the commands that run stages (`wave.ts`) and by the session,
 * which starts the first worker while a cold fingerprint is computed.
 *
 * @module
 */

import { isDirectory } from "../paths.ts";
import { join } from "../posix_path.ts";
import type { Project } from "../model/project.ts";
import { ownCodePaths } from "../own_code.ts";
import { stagingRootPath } from "../storage/temp_files.ts";
import { type CodeAccess, WorkerPool } from "../worker/pool.ts";
import { stagingParent } from "../worker/staging.ts";

/** The stages' code: local module files and remote hosts (`Session.code`). */
export interface StagesCode {
  readonly files: readonly string[];
  readonly hosts: readonly string[];
}

let pools = 0;

/** What a worker running the stages' code may read and import from. */
export function workerCodeAccess(project: Project, code: StagesCode): CodeAccess {
  const nodeModules = join(project.root, "node_modules");
  return {
    read: [
      ...code.files,
      // Pivot's own modules, which the pipeline imports.
      ...ownCodePaths(),
      ...(isDirectory(nodeModules) ? [nodeModules] : []),
    ],
    importHosts: [...code.hosts],
  };
}

/** A worker pool for `project`'s stages, whose code is `code()` (asked at the first worker). */
export function stagePool(project: Project, code: () => Promise<StagesCode>): WorkerPool {
  return new WorkerPool({
    stagingRoot: stagingParent(project.root, stagingRootPath(project.tmpDir, ++pools)),
    codeAccess: async () => workerCodeAccess(project, await code()),
    graceMs: 3_000,
  });
}
