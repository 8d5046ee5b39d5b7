/**
 * `pivot help [COMMAND]`: what `pivot --help` and `pivot COMMAND --help`
 * print, for users who type `help` as they would with git or cargo.
 *
 * @module
 */

import { PivotError } from "../../errors.ts";
import { didYouMean } from "../../suggest.ts";
import { type Command, commandHelp } from "../command.ts";

/**
 * The `help` command. It shows the other commands' help, so it takes them
 * (`commands`) and the text of `pivot --help` (`mainHelp`).
 *
 * @example
 * ```ts ignore
 * const COMMANDS = [init, repro, helpCommand(() => COMMANDS, mainHelp)];
 * ```
 */
export function helpCommand(
  commands: () => readonly Command[] | Promise<readonly Command[]>,
  mainHelp: () => string,
): Command {
  return {
    name: "help",
    summary: "Show the list of commands, or a command's options (as --help does).",
    usage: "help [COMMAND]",
    options: {},
    async run({ positionals }, env) {
      if (positionals.length > 1) {
        throw new PivotError(
          `help: one command at a time, got '${positionals.join(" ")}': e.g. 'pivot help ${
            positionals[0]
          }'`,
        );
      }
      const [name] = positionals;
      if (name === undefined) {
        env.output.line(mainHelp());
        return 0;
      }
      const shown = (await commands()).filter((c) => !c.hidden);
      const command = shown.find((c) => c.name === name);
      if (command === undefined) {
        const suggestion = didYouMean(name, shown.map((c) => c.name));
        throw new PivotError(
          `help: unknown command '${name}'${suggestion || ": run 'pivot help' for the list"}`,
        );
      }
      env.output.line(commandHelp(command));
      return 0;
    },
  };
}
