/**
 * The command table of `lib/cli/main.ts` lists each command's name and
 * summary so that `pivot --help`, did-you-mean and dispatch need no command
 * module; each module is imported when its command runs. The table must
 * say what the modules say, and so must the launcher's table of the commands
 * it may answer in its own process.
 */

import { COMMANDS, loadCommands } from "../../lib/cli/main.ts";
import { ATTEMPTED, loadAttempted } from "../../lib/cli/main_in_launcher.ts";
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

test("the launcher's table (main_in_launcher.ts) loads the same commands as main.ts's", async () => {
  const loaded = await loadAttempted();
  const all = await loadCommands();
  for (const [i, entry] of ATTEMPTED.entries()) {
    const same = COMMANDS.findIndex((other) => other.name === entry.name);
    assertEquals([entry.name, entry.summary], [COMMANDS[same].name, COMMANDS[same].summary]);
    assertEquals(loaded[i], all[same], `${entry.name}: not the module main.ts loads`);
  }
});
