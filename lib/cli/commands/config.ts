/**
 * `pivot config get|set|unset|list [--local]`: read and change the project's
 * settings (SPEC §5, docs/config.md). Keys are dotted (`core.remote`,
 * `cache.type`, `remotes.origin.endpoint`). `set` and `unset` change
 * `.pivot/config.yaml`, or with `--local` `.pivot/config.local.yaml` (not
 * tracked: credentials, machine paths); a change that would not validate is
 * refused with one line and nothing is written (lib/cli/config_edit.ts).
 *
 * @module
 */

import { PivotError } from "../../errors.ts";
import {
  CONFIG_FILE,
  LOCAL_CONFIG_FILE,
  readProjectConfig,
  settingPath,
} from "../../pipeline/project_config.ts";
import { findProject } from "../../pipeline/find_project.ts";
import { type Command, subcommandError } from "../command.ts";
import {
  configFileOf,
  type ConfigScope,
  deleteSetting,
  editOne,
  readConfigTexts,
} from "../config_edit.ts";

const USAGE = "config get|set|unset|list [KEY] [VALUE] [options]";

/** Settings whose values `list` does not print (`get` does). */
const SECRETS = new Set(["secret_access_key", "session_token"]);

/** The `config` command. */
export const config: Command = {
  name: "config",
  summary: "Settings: get KEY, set KEY VALUE, unset KEY, list (--local: config.local.yaml).",
  usage: USAGE,
  options: {
    local: {
      type: "boolean",
      help: "use .pivot/config.local.yaml (this machine only, not in git) instead of config.yaml",
    },
    "show-origin": { type: "boolean", help: "list: name the file each setting comes from" },
    json: { type: "boolean", help: "list: a JSON object of dotted keys" },
  },
  async run({ values, positionals }, env) {
    const [action, ...rest] = positionals;
    const scope: ConfigScope = values.local ? "local" : "project";
    const project = findProject(env.cwd);
    const arity: Record<string, number> = { get: 1, set: 2, unset: 1, list: 0 };
    if (action === undefined || !(action in arity)) {
      throw subcommandError("config", action, USAGE);
    }
    if (rest.length !== arity[action]) {
      throw new PivotError(
        `config ${action}: expected ${["no arguments", "KEY", "KEY VALUE"][arity[action]!]}, got ${
          rest.length === 0 ? "none" : rest.map((a) => `'${a}'`).join(" ")
        }`,
      );
    }
    // Every subcommand starts from settings that validate (and names the problem if not).
    await readProjectConfig(project);
    const { parse } = await import("yaml");
    const [projectText, localText] = await readConfigTexts(project);
    const files: [string, Record<string, unknown>][] = [
      [CONFIG_FILE, flatten(parse(projectText ?? "") ?? {})],
      [LOCAL_CONFIG_FILE, flatten(parse(localText ?? "") ?? {})],
    ];
    const shown = values.local ? files.slice(1) : files;

    if (action === "list") {
      const merged = new Map<string, { value: unknown; file: string }>();
      for (const [file, settings] of shown) {
        for (const [key, value] of Object.entries(settings)) merged.set(key, { value, file });
      }
      const masked = (key: string, value: unknown) =>
        SECRETS.has(key.split(".").at(-1)!) ? "****" : value;
      if (values.json) {
        env.output.line(JSON.stringify(
          Object.fromEntries([...merged].map(([key, { value }]) => [key, masked(key, value)])),
          null,
          2,
        ));
        return 0;
      }
      for (const [key, { value, file }] of merged) {
        const line = `${key}=${format(masked(key, value))}`;
        env.output.line(values["show-origin"] ? `${file}\t${line}` : line);
      }
      return 0;
    }

    const key = rest[0]!;
    const path = settingPath(key);
    const dotted = path.join(".");
    if (action === "get") {
      // The local file wins key by key.
      const found = [...shown].reverse().find(([, settings]) => dotted in settings);
      if (!found) return 1;
      env.output.line(format(found[1][dotted]));
      return 0;
    }
    if (action === "set") {
      const raw = rest[1]!;
      const parsed = parseValue(parse, raw);
      const set = (value: unknown) => editOne(project, scope, (doc) => void doc.setIn(path, value));
      try {
        await set(parsed);
      } catch (error) {
        // `region: 1234` is a string to its setting: try the text as it was typed.
        if (!(error instanceof PivotError) || parsed === raw) throw error;
        try {
          await set(raw);
        } catch {
          throw error;
        }
      }
      return 0;
    }
    // unset
    const { changed } = await editOne(project, scope, (doc) => deleteSetting(doc, path));
    if (!changed) {
      throw new PivotError(
        `${dotted} is not set in ${configFileOf(scope)}${
          scope === "project" && dotted in files[1][1]
            ? ` (it is in ${LOCAL_CONFIG_FILE}: add --local)`
            : ""
        }`,
      );
    }
    return 0;
  },
};

/** A command-line value as YAML reads it (`4` is a number, `true` a boolean), else the text. */
function parseValue(parse: (text: string) => unknown, raw: string): unknown {
  try {
    const value = parse(raw);
    return value === null || typeof value === "object" ? raw : value;
  } catch {
    return raw;
  }
}

/** Settings as dotted keys: `{core: {jobs: 4}}` → `{"core.jobs": 4}`. */
function flatten(
  value: unknown,
  prefix = "",
  into: Record<string, unknown> = {},
): Record<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    if (prefix !== "") into[prefix] = value;
    return into;
  }
  for (const [key, item] of Object.entries(value)) {
    flatten(item, prefix === "" ? key : `${prefix}.${key}`, into);
  }
  return into;
}

function format(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}
