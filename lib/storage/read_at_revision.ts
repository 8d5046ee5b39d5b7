/**
 * Reading files as they were at a git revision (HEAD, or `--rev REV`): what
 * `params diff`, `metrics diff` and `status` compare the workspace with.
 *
 * All files are read through one `git cat-file --batch` process, so reading
 * the lock files of a few hundred stages costs two processes, not hundreds.
 *
 * @module
 */

import { isAbsolute, posix, relative } from "../posix_path.ts";
import { PivotError } from "../errors.ts";

/**
 * The text of each of `paths` at revision `rev` of the git repository that
 * holds `dir`; `undefined` for a path that does not exist there (or is a
 * directory). Paths are relative to `dir` (which may be a sub-directory of
 * the repository, such as a project root) or absolute.
 *
 * In a repository without commits yet, the default `HEAD` holds no files:
 * every path is `undefined`.
 *
 * Needs `--allow-run=git` and read permission for `dir`.
 *
 * @throws {PivotError} when `dir` is not in a git repository, git is not
 * installed, or `rev` is not a revision of the repository.
 *
 * @example
 * ```ts
 * const old = await readFilesAtRevision("/work/project", ["params.yaml", ".pivot/stages/train.lock"]);
 * old.get("params.yaml"); // the text at HEAD, or undefined
 * ```
 */
export async function readFilesAtRevision(
  dir: string,
  paths: readonly string[],
  rev: string = "HEAD",
): Promise<Map<string, string | undefined>> {
  const decoder = new TextDecoder();
  const blobs = await readBlobsAtRevision(dir, paths, rev);
  return new Map([...blobs].map(([path, bytes]) => [path, bytes && decoder.decode(bytes)]));
}

/**
 * {@link readFilesAtRevision}, as bytes: for files that are not text, or
 * whose hash must be checked.
 *
 * Needs `--allow-run=git` and read permission for `dir`.
 *
 * @throws {PivotError} as {@link readFilesAtRevision} does.
 *
 * @example
 * ```ts
 * const blobs = await readBlobsAtRevision("/work/project", ["data/small.csv"], "v1");
 * blobs.get("data/small.csv"); // Uint8Array, or undefined
 * ```
 */
export async function readBlobsAtRevision(
  dir: string,
  paths: readonly string[],
  rev: string = "HEAD",
): Promise<Map<string, Uint8Array | undefined>> {
  const result = new Map<string, Uint8Array | undefined>(paths.map((path) => [path, undefined]));
  const revision = await resolveRevision(dir, rev);
  if (revision === undefined || paths.length === 0) return result;
  const unique = [...result.keys()];
  const names = unique.map((path) => `${revision.commit}:${repoPath(dir, revision.prefix, path)}`);
  const stdout = await git(dir, ["cat-file", "--batch"], names.join("\n") + "\n");
  const contents = parseBatch(stdout, unique.length);
  unique.forEach((path, index) => result.set(path, contents[index]));
  return result;
}

/**
 * The names of the files directly in directory `path` at revision `rev`
 * (default `HEAD`), sorted; empty when the directory does not exist there.
 * `path` is relative to `dir` or absolute, as in {@link readFilesAtRevision}.
 *
 * Needs `--allow-run=git` and read permission for `dir`.
 *
 * @throws {PivotError} as {@link readFilesAtRevision} does.
 *
 * @example
 * ```ts
 * await listFilesAtRevision("/work/project", ".pivot/stages"); // ["prep.lock", "train.lock"]
 * ```
 */
export async function listFilesAtRevision(
  dir: string,
  path: string,
  rev: string = "HEAD",
): Promise<string[]> {
  const revision = await resolveRevision(dir, rev);
  if (revision === undefined) return [];
  const tree = `${revision.commit}:${repoPath(dir, revision.prefix, path)}`;
  let stdout: Uint8Array;
  try {
    stdout = await git(dir, ["ls-tree", "--full-tree", "-z", tree]);
  } catch (error) {
    // Not a tree at that revision: the directory did not exist (or was a file).
    if (error instanceof GitFailed) return [];
    throw error;
  }
  // `<mode> <type> <oid>\t<name>`, NUL-terminated.
  return new TextDecoder().decode(stdout).split("\0").flatMap((entry) => {
    const match = /^\d+ blob [0-9a-f]+\t(.*)$/s.exec(entry);
    return match ? [match[1]] : [];
  }).sort();
}

/**
 * Every file under `dir` at revision `rev` (default `HEAD`), as paths
 * relative to `dir` with `/` separators, sorted; empty in a repository
 * without commits. One `git ls-tree -r` for the whole tree.
 *
 * Needs `--allow-run=git` and read permission for `dir`.
 *
 * @throws {PivotError} as {@link readFilesAtRevision} does.
 *
 * @example
 * ```ts
 * await listTreeAtRevision("/work/project"); // [".pivot/stages/train.lock", "data.csv.pvt", "pipeline.ts"]
 * ```
 */
export async function listTreeAtRevision(dir: string, rev: string = "HEAD"): Promise<string[]> {
  const revision = await resolveRevision(dir, rev);
  if (revision === undefined) return [];
  const tree = `${revision.commit}:${revision.prefix}`;
  let stdout: Uint8Array;
  try {
    stdout = await git(dir, ["ls-tree", "-r", "-z", "--name-only", tree]);
  } catch (error) {
    if (error instanceof GitFailed) return [];
    throw error;
  }
  return new TextDecoder().decode(stdout).split("\0").filter((name) => name !== "").sort();
}

/**
 * Every distinct file content (blob) that any commit reachable from any ref
 * (every branch, tag and remote branch, and HEAD: `git rev-list --all`) holds
 * under `dir` at a path `match` accepts (paths relative to `dir`). Each blob
 * is read once, with one of the paths it was found at, however many commits
 * share it; `commits` says how many commits were looked at.
 *
 * Needs `--allow-run=git` and read permission for `dir`.
 *
 * @throws {PivotError} when `dir` is not in a git repository or git is missing.
 *
 * @example
 * ```ts
 * const { blobs } = await blobsInHistory("/work/project", (path) => path.endsWith(".pvt"));
 * ```
 */
export async function blobsInHistory(
  dir: string,
  match: (path: string) => boolean,
): Promise<{ commits: number; blobs: { path: string; text: string }[] }> {
  let prefix: string;
  try {
    prefix = new TextDecoder().decode(await git(dir, ["rev-parse", "--show-prefix"])).trim();
  } catch (error) {
    if (!(error instanceof GitFailed)) throw error;
    throw new PivotError(`cannot read git history in ${dir}: ${error.message}`, { cause: error });
  }
  const decoder = new TextDecoder();
  const commits = decoder.decode(await git(dir, ["rev-list", "--all"])).split("\n")
    .filter((line) => line !== "").length;
  if (commits === 0) return { commits, blobs: [] };
  const objects = decoder.decode(await git(dir, ["rev-list", "--all", "--objects"]));
  const wanted: { oid: string; path: string }[] = [];
  for (const line of objects.split("\n")) {
    const space = line.indexOf(" ");
    if (space < 0) continue;
    const path = line.slice(space + 1);
    if (!path.startsWith(prefix)) continue;
    const rel = path.slice(prefix.length);
    if (match(rel)) wanted.push({ oid: line.slice(0, space), path: rel });
  }
  if (wanted.length === 0) return { commits, blobs: [] };
  const stdout = await git(
    dir,
    ["cat-file", "--batch"],
    wanted.map((w) => w.oid).join("\n") + "\n",
  );
  const contents = parseBatch(stdout, wanted.length);
  const blobs: { path: string; text: string }[] = [];
  wanted.forEach(({ path }, i) => {
    const bytes = contents[i];
    if (bytes !== undefined) blobs.push({ path, text: decoder.decode(bytes) });
  });
  return { commits, blobs };
}

/** The commit `rev` names and `dir`'s place in the repository; undefined for an unborn HEAD. */
// What never changes while a process runs: a directory's place in its repository, and
// that a full commit id names a commit. So a command that reads several things at one
// revision asks git to resolve it once ({@link resolveCommit}), not once per read.
const prefixes = new Map<string, string>();
const commits = new Set<string>();

/**
 * The full id of the commit `rev` names in the repository holding `dir`;
 * undefined for `HEAD` in a repository without commits. Reading at the id
 * it returns costs no further `git rev-parse`: resolve a revision once
 * when several reads at it follow.
 *
 * Needs `--allow-run=git`.
 *
 * @throws {PivotError} as {@link readFilesAtRevision} does.
 *
 * @example
 * ```ts ignore
 * const commit = await resolveCommit("/work/project", "HEAD"); // "3f2a…" (40 hex digits)
 * ```
 */
export async function resolveCommit(dir: string, rev: string): Promise<string | undefined> {
  return (await resolveRevision(dir, rev))?.commit;
}

async function resolveRevision(
  dir: string,
  rev: string,
): Promise<{ commit: string; prefix: string } | undefined> {
  if (rev === "" || rev.startsWith("-") || /[\s:]/.test(rev)) {
    throw new PivotError(
      `invalid git revision ${JSON.stringify(rev)}: name a commit, branch or tag`,
    );
  }
  let prefix = prefixes.get(dir);
  // A full commit id names that commit for ever: checked once per process.
  if (prefix !== undefined && commits.has(`${dir}\0${rev}`)) return { commit: rev, prefix };
  if (prefix === undefined) {
    // Both in one process when all is well; on any failure, one at a time below, which
    // tells a directory outside git from an unknown revision.
    try {
      const args = ["rev-parse", "--show-prefix", "--verify", "--quiet", `${rev}^{commit}`];
      const [shown, commit] = new TextDecoder().decode(await git(dir, args)).split("\n");
      if (/^[0-9a-f]{40,64}$/.test(commit ?? "")) {
        prefixes.set(dir, shown.trim());
        commits.add(`${dir}\0${commit}`);
        return { commit, prefix: shown.trim() };
      }
    } catch (error) {
      if (!(error instanceof GitFailed) && !(error instanceof PivotError)) throw error;
    }

    try {
      prefix = new TextDecoder().decode(await git(dir, ["rev-parse", "--show-prefix"])).trim();
    } catch (error) {
      if (!(error instanceof GitFailed)) throw error;
      throw new PivotError(`cannot read git revisions in ${dir}: ${error.message}`, {
        cause: error,
      });
    }
    prefixes.set(dir, prefix);
  }
  if (commits.has(`${dir}\0${rev}`)) return { commit: rev, prefix };
  try {
    const args = ["rev-parse", "--verify", "--quiet", `${rev}^{commit}`];
    const commit = new TextDecoder().decode(await git(dir, args)).trim();
    commits.add(`${dir}\0${commit}`);
    return { commit, prefix };
  } catch (error) {
    if (!(error instanceof GitFailed)) throw error;
    // A repository without commits has no HEAD yet: nothing was committed, so nothing is there.
    if (rev === "HEAD") return undefined;
    throw new PivotError(`unknown git revision '${rev}': name a commit, branch or tag`);
  }
}

/**
 * True when `name` names a commit in the git repository at `dir` (false
 * outside git): for telling a revision given where a path was expected.
 *
 * @example
 * ```ts ignore
 * await isRevision(root, "HEAD~1"); // true in a repository with two commits
 * ```
 */
export async function isRevision(dir: string, name: string): Promise<boolean> {
  if (name === "" || name.startsWith("-") || /[\s:]/.test(name)) return false;
  try {
    await git(dir, ["rev-parse", "--verify", "--quiet", `${name}^{commit}`]);
    return true;
  } catch (error) {
    if (error instanceof GitFailed) return false;
    throw error;
  }
}

/** `dir`-relative or absolute `path` as a path from the repository root (`sub/params.yaml`). */
function repoPath(dir: string, prefix: string, path: string): string {
  const fromDir = isAbsolute(path) ? relative(dir, path) : path;
  return posix.normalize(prefix + fromDir.replaceAll("\\", "/"));
}

/** Split `git cat-file --batch` output into the bytes of each blob, in order. */
function parseBatch(stdout: Uint8Array, count: number): (Uint8Array | undefined)[] {
  const decoder = new TextDecoder();
  const contents: (Uint8Array | undefined)[] = [];
  let offset = 0;
  for (let index = 0; index < count; index++) {
    const end = stdout.indexOf(0x0a, offset);
    if (end < 0) throw new Error("git cat-file --batch: output ended early");
    const header = decoder.decode(stdout.subarray(offset, end));
    offset = end + 1;
    // `<name> missing` (or `ambiguous`) has no body; a hit is `<oid> <type> <size>` then the body.
    const match = /^[0-9a-f]+ (\w+) (\d+)$/.exec(header);
    if (!match) {
      contents.push(undefined);
      continue;
    }
    const size = Number(match[2]);
    contents.push(
      match[1] === "blob" ? stdout.slice(offset, offset + size) : undefined,
    );
    offset += size + 1;
  }
  return contents;
}

/** A git command that exited with an error. */
class GitFailed extends Error {}

/**
 * Git cannot be used in {@link GitUnavailable.dir}: it is not in a git
 * repository, or git is not installed. A command that needs git catches it
 * to say why it needs git and what to do instead (`lib/cli/git_need.ts`).
 */
export class GitUnavailable extends PivotError {
  /** The directory git was run in. */
  readonly dir: string;
  /** What is missing: a repository around `dir`, or git itself. */
  readonly missing: "repository" | "git";

  /** Git is `missing` for `dir`. */
  constructor(dir: string, missing: "repository" | "git", options: { cause?: unknown } = {}) {
    super(
      missing === "git"
        ? "git is not installed: comparing with a revision needs git"
        : `${dir} is not in a git repository: comparing with a revision needs git`,
      options,
    );
    this.dir = dir;
    this.missing = missing;
  }
}

async function git(dir: string, args: string[], input?: string): Promise<Uint8Array> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command("git", {
      args,
      cwd: dir,
      stdin: input === undefined ? "null" : "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new GitUnavailable(dir, "git", { cause: error });
    }
    throw error;
  }
  // Read while writing: a large output would otherwise fill the pipe and stall both sides.
  const output = child.output();
  if (input !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(input));
    await writer.close();
  }
  const { code, stdout, stderr } = await output;
  if (code === 0) return stdout;
  const message = new TextDecoder().decode(stderr).trim().split("\n")[0];
  if (/not a git repository/i.test(message)) {
    throw new GitUnavailable(dir, "repository");
  }
  throw new GitFailed(`git ${args.join(" ")}: ${message || `exit code ${code}`}`);
}
