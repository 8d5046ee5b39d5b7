/**
 * The command table of `lib/cli/main.ts` lists each command's name and
 * summary so that `pivot --help`, did-you-mean and dispatch need no command
 * module; each module is imported when its command runs. The table must
 * say what the modules say.
 */

import { COMMANDS, loadCommands } from "../../lib/cli/main.ts";
import { assertEquals } from "../_assert.ts";
import { test } from "../_harness.ts";

test("the command table's names, summaries and hidden flags are the commands' own", async () => {
  const loaded = await loadCommands();
  assertEquals(
    COMMANDS.map((entry) => [entry.name, entry.summary, entry.hidden ?? false]),
    loaded.map((command) => [command.name, command.summary, command.hidden ?? false]),
    "edit the entry in COMMANDS (lib/cli/main.ts) to match the command's module",
  );
  assertEquals(new Set(COMMANDS.map((entry) => entry.name)).size, COMMANDS.length);
});
