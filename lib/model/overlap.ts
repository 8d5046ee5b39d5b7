/**
 * When declared paths overlap. Paths are `/`-separated (project-relative, or
 * absolute for changed files); a dep or out declared with a trailing `/` is a
 * directory and holds everything below it.
 *
 * One definition for the graph (which outs produce a dep), multi-pipeline
 * discovery (whether an included stage produces a dep) and the driver
 * (whether a changed file touches a dep).
 *
 * @module
 */

/** True when `path` is strictly inside the directory `dir`. */
export function isUnder(path: string, dir: string): boolean {
  return path.startsWith(dir + "/");
}

/**
 * True when the dep or out declared at `declared` holds `path`: it is that
 * path or, when it is a directory (`isDir`), a directory above it.
 */
export function holds(declared: string, isDir: boolean, path: string): boolean {
  return path === declared || (isDir && isUnder(path, declared));
}

/**
 * True when an out at `outPath` produces some or all of the dep at
 * `depPath`: the same path, the dep inside a directory out, or the out inside
 * the dep (a dep on a directory that holds outs).
 */
export function overlaps(outPath: string, outIsDir: boolean, depPath: string): boolean {
  return holds(outPath, outIsDir, depPath) || isUnder(outPath, depPath);
}

/** What {@link OutIndex} indexes: anything with a declared out. */
export interface Indexed {
  /** The out. */
  readonly out: { readonly path: string; readonly isDir: boolean };
}

/**
 * Outs indexed by path, for {@link overlaps} against many outs at once:
 * exact, ancestor and descendant lookups cost a map probe per path segment
 * plus a binary search, not a scan of every out.
 */
export class OutIndex<T extends Indexed> {
  readonly #byPath = new Map<string, T>();
  /** Every proper ancestor of an indexed path: only these have descendants to look for. */
  readonly #ancestors = new Set<string>();
  /** How many indexed outs are directories: with none, no ancestor can hold a path. */
  #dirs = 0;
  #sorted: string[] | undefined = [];

  /** Add an item; an item already at its path is replaced. */
  add(item: T): void {
    const path = item.out.path;
    if (this.#byPath.get(path)?.out.isDir) this.#dirs--;
    if (item.out.isDir) this.#dirs++;
    this.#byPath.set(path, item);
    for (let i = path.lastIndexOf("/"); i > 0; i = path.lastIndexOf("/", i - 1)) {
      const ancestor = path.slice(0, i);
      if (this.#ancestors.has(ancestor)) break; // and so are its own ancestors
      this.#ancestors.add(ancestor);
    }
    this.#sorted = undefined;
  }

  /** The item whose out is exactly at `path`. */
  get(path: string): T | undefined {
    return this.#byPath.get(path);
  }

  /**
   * True when an item other than the one exactly at `path` may overlap it:
   * some indexed out is a directory, or `path` is above an indexed out. When
   * false, {@link overlapping} holds at most the item at `path`.
   */
  mayOverlapOthers(path: string): boolean {
    return this.#dirs > 0 || this.#ancestors.has(path);
  }

  /** Items whose outs overlap a dep at `path` (see {@link overlaps}): exact, above, below. */
  overlapping(path: string): T[] {
    const result: T[] = [];
    const exact = this.#byPath.get(path);
    if (exact) result.push(exact);
    if (this.#dirs > 0) {
      for (let i = path.lastIndexOf("/"); i > 0; i = path.lastIndexOf("/", i - 1)) {
        const ancestor = this.#byPath.get(path.slice(0, i));
        if (ancestor?.out.isDir) result.push(ancestor);
      }
    }
    if (!this.#ancestors.has(path)) return result;
    const sorted = this.#sorted ??= [...this.#byPath.keys()].sort();
    const prefix = path + "/";
    for (let i = lowerBound(sorted, prefix); i < sorted.length; i++) {
      if (!sorted[i].startsWith(prefix)) break;
      result.push(this.#byPath.get(sorted[i])!);
    }
    return result;
  }
}

function lowerBound(sorted: readonly string[], key: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
