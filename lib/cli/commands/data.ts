/**
 * `pivot data get|diff`: data over time (SPEC §9, docs/data.md).
 *
 * - `data get TARGETS [--rev REV] [-o PATH] [--force]` writes an out or
 *   tracked file (or directory) as it was at a revision, from the cache.
 * - `data diff PATH [--rev A] [--rev B] [--key COLS] [--json]` compares a
 *   table (CSV, TSV, JSON, JSON Lines) row by row, or a directory file by
 *   file, between two revisions or a revision and the workspace.
 *
 * Neither loads the pipeline: they read lock files, `.pvt` files, git and
 * the cache.
 *
 * @module
 */

import { basename, join, resolve } from "node:path";
import { PivotError } from "../../errors.ts";
import type { DataAtOptions, DataFile, DataVersion } from "../../outputs/data_at.ts";
import type { ModifiedRow, Row, RowSource } from "../../outputs/data_diff.ts";
import type { OutsSource } from "../../outputs/outs_at_revision.ts";
import { type Command, type CommandEnv, diffSources, subcommandError } from "../command.ts";
import { type ProjectSession, withProject } from "../project_session.ts";
import { defaultRemoteFetch } from "../remote_fetch.ts";
import { Spool } from "../spool.ts";
import { needingGit } from "../git_need.ts";

const USAGE =
  "data get TARGETS... [--rev REV] [-o PATH] | data diff PATH [--rev A] [--rev B] [--key COLS]";

/** The `data` command. */
export const data: Command = {
  name: "data",
  summary: "Get an out or tracked file as at a revision, or diff data row by row.",
  usage: USAGE,
  options: {
    rev: {
      type: "string",
      multiple: true,
      value: "REV",
      help: "get: the revision (default HEAD); diff: once REV vs the workspace, twice A vs B",
    },
    out: {
      type: "string",
      short: "o",
      value: "PATH",
      help: "get: where to write (default: the target's name here; a directory for several)",
    },
    force: { type: "boolean", short: "f", help: "get: replace what is at the destination" },
    key: {
      type: "string",
      multiple: true,
      value: "COLS",
      help: "diff: columns that identify a row (comma-separated); default: match by position",
    },
    json: { type: "boolean", help: "diff: JSON on stdout" },
  },
  async run({ values, positionals }, env) {
    const [action, ...targets] = positionals;
    const revs = (values.rev as string[] | undefined) ?? [];
    if (action === "get") {
      if (values.key !== undefined || values.json) {
        throw new PivotError("data get: --key and --json apply to 'data diff' only");
      }
      if (targets.length === 0) {
        throw new PivotError("data get: name what to get: pivot data get PATH... --rev REV");
      }
      if (revs.length > 1) throw new PivotError("data get: give --rev once");
      return await needingGit(
        { what: "data get", why: "it reads files as committed at --rev, default HEAD" },
        () => dataGet(targets, revs[0] ?? "HEAD", values, env),
      );
    }
    if (action === "diff") {
      if (values.out !== undefined || values.force) {
        throw new PivotError("data diff: -o and --force apply to 'data get' only");
      }
      if (targets.length !== 1) {
        throw new PivotError(
          `data diff: name one file or directory to compare (got ${targets.length})`,
        );
      }
      const key = ((values.key as string[] | undefined) ?? [])
        .flatMap((cols) => cols.split(","))
        .map((col) => col.trim());
      if (key.some((col) => col === "")) {
        throw new PivotError("data diff: --key takes column names separated by commas");
      }
      const sources = diffSources("data diff", revs);
      return await needingGit(
        { what: "data diff", why: "it compares with a commit: --rev, default HEAD" },
        () => dataDiff(targets[0], sources, key, Boolean(values.json), env),
      );
    }
    throw subcommandError("data", action, USAGE);
  },
};

/** `name` (relative to the current directory) as a project-relative path, or an error. */
function projectPath(session: ProjectSession, env: CommandEnv, name: string): string {
  const abs = resolve(env.cwd, name);
  const root = session.project.root;
  if (abs === root) return "";
  if (!abs.startsWith(root + "/")) {
    throw new PivotError(`data: '${name}' is outside the project ${root}`);
  }
  return abs.slice(root.length + 1).replace(/\/+$/, "");
}

async function dataGet(
  targets: readonly string[],
  rev: string,
  values: Readonly<Record<string, unknown>>,
  env: CommandEnv,
): Promise<number> {
  return await withProject(env, async (session) => {
    const { getData } = await import("../../outputs/data_get.ts");
    const out = values.out as string | undefined;
    const paths = targets.map((name) => projectPath(session, env, name));
    if (paths.some((path) => path === "")) {
      throw new PivotError("data get: name a file or directory, not the project itself");
    }
    const dests = paths.map((path) =>
      out === undefined
        ? resolve(env.cwd, basename(path))
        : targets.length === 1
        ? resolve(env.cwd, out)
        : join(resolve(env.cwd, out), basename(path))
    );
    const written = await getData(paths.map((path, i) => ({ path, dest: dests[i] })), {
      ...dataAtOptions(session),
      rev,
      force: Boolean(values.force),
      // What the cache lacks is fetched from the default remote, if one is configured.
      fetchMissing: defaultRemoteFetch(session, env.output),
    });
    if (!env.output.quiet) {
      for (const item of written) {
        env.output.line(
          `${item.path} at ${rev} -> ${item.dest}${item.files > 1 ? ` (${item.files} files)` : ""}`,
        );
      }
    }
    return 0;
  });
}

/**
 * How `data` reads a project's data: by its lock and `.pvt` files alone (no
 * pipeline is loaded), skipping the cache in the walk.
 */
function dataAtOptions(session: ProjectSession): DataAtOptions {
  return {
    root: session.project.root,
    cache: session.cache,
    state: session.state,
    stages: [],
    skip: session.skip,
    warn: session.warn,
  };
}

async function dataDiff(
  name: string,
  sources: readonly [OutsSource, OutsSource],
  key: readonly string[],
  json: boolean,
  env: CommandEnv,
): Promise<number> {
  return await withProject(env, async (session) => {
    const { dataAt, recordedAt } = await import("../../outputs/data_at.ts");
    const { sourceLabel } = await import("../../outputs/outs_at_revision.ts");
    const path = projectPath(session, env, name);
    const options = dataAtOptions(session);
    const versions: DataVersion[] = [];
    for (const source of sources) {
      const recorded = source.kind === "revision" ? await recordedAt(source, options) : new Map();
      versions.push(await dataAt(source, path, recorded, options));
    }
    const labels = sources.map(sourceLabel) as [string, string];
    const [old, now] = versions;
    if (!old.found && !now.found) {
      throw new PivotError(
        `data diff: ${path} at ${labels[0]}: ${old.reason}; at ${labels[1]}: ${now.reason}`,
      );
    }
    for (const [i, version] of versions.entries()) {
      // Content that exists but is not available is an error; data that is absent is empty.
      if (!version.found && version.missing.length > 0) {
        throw new PivotError(`data diff: ${path} at ${labels[i]}: ${version.reason}`);
      }
    }
    const isDir = (old.found && old.isDir) || (now.found && now.isDir);
    if (old.found && now.found && old.isDir !== now.isDir) {
      throw new PivotError(
        `data diff: ${path} is a ${old.isDir ? "directory" : "file"} at ${labels[0]} and a ${
          now.isDir ? "directory" : "file"
        } at ${labels[1]}: compare files with files, directories with directories`,
      );
    }
    if (isDir) {
      if (key.length > 0) {
        throw new PivotError(`data diff: ${path} is a directory: --key applies to a table`);
      }
      return await directoryDiff(session, path, versions, labels, json, env);
    }
    return await tableDiff(session, path, versions, labels, key, json, env);
  });
}

async function directoryDiff(
  session: ProjectSession,
  path: string,
  versions: readonly DataVersion[],
  labels: readonly [string, string],
  json: boolean,
  env: CommandEnv,
): Promise<number> {
  const { diffDirectories } = await import("../../outputs/data_diff.ts");
  const { hashFile } = await import("../../storage/hash.ts");
  const { stampOf } = await import("../../storage/state.ts");
  const sides = [];
  for (const version of versions) {
    if (!version.found || !version.isDir) {
      sides.push([]);
      continue;
    }
    const files = [];
    for (const file of version.files) {
      files.push({ path: file.path, hash: file.hash ?? await workspaceHash(file) });
    }
    sides.push(files);
  }
  async function workspaceHash(file: DataFile): Promise<string> {
    const rel = `${path}/${file.path}`;
    const stamp = stampOf(Deno.statSync(file.file!));
    return await session.state.cachedFileHash(rel, stamp) ?? await hashFile(file.file!);
  }
  const diff = diffDirectories(sides[0], sides[1]);
  const at = (file: string) => path === "" ? file : `${path}/${file}`;
  if (json) {
    env.output.line(JSON.stringify(
      {
        path,
        kind: "directory",
        revisions: labels,
        added: diff.added.map((file) => ({ path: at(file.path), hash: file.hash })),
        removed: diff.removed.map((file) => ({ path: at(file.path), hash: file.hash })),
        modified: diff.modified.map((file) => ({
          key: at(file.path),
          changes: { hash: [file.old, file.new] },
        })),
        unchanged: diff.unchanged,
      },
      null,
      2,
    ));
    return 0;
  }
  env.output.line(`${path}/: ${labels[0]} -> ${labels[1]}`);
  env.output.line(
    `${diff.added.length} added, ${diff.removed.length} removed, ${diff.modified.length} modified, ${diff.unchanged} unchanged`,
  );
  for (const file of diff.added) env.output.line(`+ ${at(file.path)}`);
  for (const file of diff.removed) env.output.line(`- ${at(file.path)}`);
  for (const file of diff.modified) env.output.line(`~ ${at(file.path)}`);
  return 0;
}

async function tableDiff(
  session: ProjectSession,
  path: string,
  versions: readonly DataVersion[],
  labels: readonly [string, string],
  key: readonly string[],
  json: boolean,
  env: CommandEnv,
): Promise<number> {
  const { diffRows, readFile, rowFormatOf } = await import("../../outputs/data_diff.ts");
  const format = rowFormatOf(path);
  if (format === undefined) {
    throw new PivotError(
      `data diff: ${path} is not a table: data diff compares CSV, TSV, JSON and JSON Lines files row by row, and directories file by file`,
    );
  }
  const rowSource = (version: DataVersion, label: string): RowSource => {
    const named = `${path} ${label === "workspace" ? "in the workspace" : `at ${label}`}`;
    if (!version.found || version.isDir) {
      return { label: named, size: 0, open: () => Promise.resolve(new Blob([]).stream()) };
    }
    const file = version.file;
    if (file.bytes !== undefined) {
      const bytes = file.bytes;
      const stream = () =>
        new ReadableStream<Uint8Array>({
          start(controller) {
            controller.enqueue(bytes);
            controller.close();
          },
        });
      return { label: named, size: bytes.length, open: () => Promise.resolve(stream()) };
    }
    return {
      label: named,
      size: Deno.statSync(file.file!).size,
      open: () => Promise.resolve(readFile(file.file!)),
    };
  };
  const [old, now] = [rowSource(versions[0], labels[0]), rowSource(versions[1], labels[1])];
  const tmpDir = join(session.project.tmpDir, `data-diff-${Deno.pid}`);
  await using added = new Spool(tmpDir);
  await using removed = new Spool(tmpDir);
  await using modified = new Spool(tmpDir);
  const item = (spool: Spool, text: string) => spool.add(spool.count === 0 ? text : `,\n${text}`);
  const sink = json
    ? {
      added: (row: Row) => item(added, JSON.stringify(row)),
      removed: (row: Row) => item(removed, JSON.stringify(row)),
      modified: (row: ModifiedRow) => item(modified, JSON.stringify(row)),
    }
    : {
      added: (row: Row) => added.add(`+ ${rowText(row)}\n`),
      removed: (row: Row) => removed.add(`- ${rowText(row)}\n`),
      modified: (row: ModifiedRow) => modified.add(`~ ${modifiedText(row)}\n`),
    };
  // The spools' files live in tmpDir until they are drained into the output.
  try {
    const summary = await diffRows(old, now, { format, key, tmpDir }, sink);
    const write = (text: string) => env.output.raw(text);
    if (json) {
      write(`{\n"path": ${JSON.stringify(path)},\n"revisions": ${JSON.stringify(labels)},\n`);
      write(`"key": ${JSON.stringify(key.length > 0 ? key : null)},\n"added": [\n`);
      await added.drain(write);
      write(`\n],\n"removed": [\n`);
      await removed.drain(write);
      write(`\n],\n"modified": [\n`);
      await modified.drain(write);
      write(
        `\n],\n"columns": ${
          JSON.stringify({ added: summary.addedColumns, removed: summary.removedColumns })
        },\n"summary": ${
          JSON.stringify({
            added: summary.added,
            removed: summary.removed,
            modified: summary.modified,
            unchanged: summary.unchanged,
          })
        }\n}\n`,
      );
      return 0;
    }
    write(
      `${path}: ${labels[0]} -> ${labels[1]}, rows matched by ${
        key.length > 0 ? key.join(", ") : "position"
      }\n`,
    );
    const columns = [
      ...summary.addedColumns.map((column) => `column '${column}' added`),
      ...summary.removedColumns.map((column) => `column '${column}' removed`),
    ];
    write(
      `${summary.added} added, ${summary.removed} removed, ${summary.modified} modified, ${summary.unchanged} unchanged${
        columns.length > 0 ? `; ${columns.join(", ")}` : ""
      }\n`,
    );
    await added.drain(write);
    await removed.drain(write);
    await modified.drain(write);
    return 0;
  } finally {
    await Deno.remove(tmpDir, { recursive: true }).catch(() => {});
  }
}

/** A value in text output: as it is, quoted when it would be ambiguous. */
function valueText(value: unknown): string {
  if (typeof value === "string") {
    return value === "" || /[\s,=]|^["']/.test(value) ? JSON.stringify(value) : value;
  }
  return JSON.stringify(value) ?? String(value);
}

function rowText(row: Row): string {
  return Object.entries(row).map(([column, value]) => `${column}=${valueText(value)}`).join(", ");
}

function modifiedText(row: ModifiedRow): string {
  const key = typeof row.key === "number"
    ? `row ${row.key}`
    : Object.entries(row.key).map(([column, value]) => `${column}=${valueText(value)}`).join(", ");
  const changes = Object.entries(row.changes).map(([column, [old, now]]) =>
    `${column}: ${valueText(old)} -> ${valueText(now)}`
  );
  return `${key}: ${changes.join(", ")}`;
}
