/**
 * What `repro` is called and says of itself, and the options a no-op's
 * record may answer with: shared by the full command
 * (lib/cli/commands/repro.ts) and the record's answer
 * (lib/cli/noop_answer.ts), which must not import the full command's
 * modules yet must be `repro` to the user (its help, its errors).
 *
 * @module
 */

import type { OptionSpec } from "./command.ts";

/** `repro`'s name, summary and usage. */
export const REPRO_HEADING = {
  name: "repro",
  summary: "Run stages (default: all) and everything upstream of them that is stale.",
  usage: "repro [STAGES...] [options]",
} as const;

/** `repro`'s options that a no-op's record answers with (lib/cli/noop_record.ts, `answersCommandLine`). */
export const REPRO_RECORD_OPTIONS = {
  "keep-going": {
    type: "boolean",
    short: "k",
    help: "after a failure, run every stage that does not depend on it",
  },
  jobs: {
    type: "string",
    short: "j",
    value: "N",
    help: "stages to run at once (default: cores)",
  },
  json: { type: "boolean", help: "JSON Lines events on stdout" },
} as const satisfies Readonly<Record<string, OptionSpec>>;
