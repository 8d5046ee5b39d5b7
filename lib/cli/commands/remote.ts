/**
 * `pivot remote list|add|remove|default`: the remotes under `remotes:` and
 * the default one (`core.remote`), as `dvc remote` manages them (SPEC §10).
 * Other settings of a remote (endpoint, region, profile, jobs, credentials)
 * are set with `pivot config set remotes.NAME.KEY VALUE [--local]`.
 *
 * @module
 */

import { PivotError } from "../../errors.ts";
import { findProject } from "../../pipeline/find_project.ts";
import { LOCAL_CONFIG_FILE, readProjectConfig } from "../../pipeline/project_config.ts";
import { type Command, subcommandError } from "../command.ts";
import {
  configFileOf,
  type ConfigScope,
  deleteSetting,
  editConfig,
  editOne,
  readConfigTexts,
} from "../config_edit.ts";

const USAGE = "remote list|add|remove|default [NAME] [URL] [options]";

/** The `remote` command. */
export const remote: Command = {
  name: "remote",
  summary: "Manage remotes: list, add NAME URL [-d], remove NAME, default [NAME].",
  usage: USAGE,
  options: {
    default: { type: "boolean", short: "d", help: "add: also make it the default remote" },
    force: { type: "boolean", short: "f", help: "add: replace the URL of an existing remote" },
    local: {
      type: "boolean",
      help: "write .pivot/config.local.yaml (this machine only, not in git) instead of config.yaml",
    },
    unset: { type: "boolean", help: "default: leave no default remote" },
    json: { type: "boolean", help: "list: JSON on stdout" },
  },
  async run({ values, positionals }, env) {
    const [action, ...rest] = positionals;
    const scope: ConfigScope = values.local ? "local" : "project";
    const project = findProject(env.cwd);
    const config = await readProjectConfig(project);
    const expect = (count: number, what: string) => {
      if (rest.length !== count) {
        throw new PivotError(
          `remote ${action}: expected ${what}, got ${
            rest.length === 0 ? "nothing" : rest.map((a) => `'${a}'`).join(" ")
          }`,
        );
      }
    };
    switch (action) {
      case "list": {
        expect(0, "no arguments");
        const remotes = Object.entries(config.remotes).map(([name, settings]) => ({
          name,
          url: settings.url,
          default: name === config.remote,
        }));
        if (values.json) {
          env.output.line(JSON.stringify({ remotes, default: config.remote ?? null }, null, 2));
        } else if (remotes.length === 0) {
          if (!env.output.quiet) {
            env.output.line("No remotes: add one with 'pivot remote add NAME URL'.");
          }
        } else {
          const width = Math.max(...remotes.map((r) => r.name.length)) + 2;
          for (const r of remotes) {
            env.output.line(`${r.name.padEnd(width)}${r.url}${r.default ? "  (default)" : ""}`);
          }
        }
        return 0;
      }
      case "add": {
        expect(2, "NAME URL");
        const [name, url] = rest as [string, string];
        const existing = config.remotes[name];
        if (existing && !values.force) {
          throw new PivotError(
            `remote '${name}' exists (${existing.url}): use --force to give it a new URL`,
          );
        }
        await editOne(project, scope, (doc) => {
          doc.setIn(["remotes", name, "url"], url);
          if (values.default) doc.setIn(["core", "remote"], name);
        });
        if (!env.output.quiet) {
          env.output.line(
            `${existing ? "Changed" : "Added"} remote '${name}' (${url}) in ${configFileOf(scope)}${
              values.default ? ", the default" : ""
            }`,
          );
        }
        return 0;
      }
      case "remove": {
        expect(1, "NAME");
        const name = rest[0]!;
        if (!(name in config.remotes)) {
          throw new PivotError(
            `no remote named '${name}' (${
              Object.keys(config.remotes).join(", ") || "no remotes are configured"
            })`,
          );
        }
        // From both files (a remote's credentials often sit in the local one),
        // with core.remote where it names it: the rest must still validate.
        const scopes: ConfigScope[] = values.local ? ["local"] : ["project", "local"];
        const [projectText, localText] = await readConfigTexts(project);
        const present = { project: projectText !== undefined, local: localText !== undefined };
        const edits = Object.fromEntries(
          scopes.filter((s) => present[s]).map((s) => [s, (doc: import("yaml").Document) => {
            const removed = deleteSetting(doc, ["remotes", name]);
            const isDefault = doc.getIn(["core", "remote"]) === name;
            if (isDefault) deleteSetting(doc, ["core", "remote"]);
            return removed || isDefault;
          }]),
        );
        const { changed } = await editConfig(project, edits);
        if (!changed) {
          throw new PivotError(`remote '${name}' is not in ${LOCAL_CONFIG_FILE}: drop --local`);
        }
        if (!env.output.quiet) env.output.line(`Removed remote '${name}'`);
        return 0;
      }
      case "default": {
        if (values.unset) {
          expect(0, "no NAME with --unset");
          await editOne(project, scope, (doc) => deleteSetting(doc, ["core", "remote"]));
          return 0;
        }
        if (rest.length === 0) {
          if (config.remote === undefined) {
            if (!env.output.quiet) {
              env.output.error(
                "No default remote: set one with 'pivot remote default NAME'",
              );
            }
            return 1;
          }
          env.output.line(config.remote);
          return 0;
        }
        expect(1, "NAME");
        const name = rest[0]!;
        // The validation says when NAME is no remote (listing the remotes).
        await editOne(project, scope, (doc) => void doc.setIn(["core", "remote"], name));
        return 0;
      }
      default:
        throw subcommandError("remote", action, USAGE);
    }
  },
};
