/**
 * The static import graph of one of Pivot's modules, as `deno info` gives it:
 * for the tests that guard what a command loads before it does any work
 * (dynamic imports load only when they run, so they are left out).
 *
 * @module
 */

import { output } from "./_harness.ts";

const ROOT = new URL("../", import.meta.url);

interface InfoModule {
  readonly specifier: string;
  readonly dependencies?: readonly {
    readonly code?: { readonly specifier: string };
    readonly isDynamic?: boolean;
  }[];
}

/** What `entry` (a path from the repository's root) loads by static imports. */
export interface StaticImports {
  /** Every specifier reached, `node:` ones included. */
  readonly reached: ReadonlySet<string>;
  /** The import chain from `entry` to `specifier`, repository paths joined by " -> ". */
  chainTo(specifier: string): string;
}

/** The static imports of `entry`, a path from the repository's root. */
export async function staticImports(entry: string): Promise<StaticImports> {
  const start = new URL(entry, ROOT).href;
  const { stdout, stderr, success } = await output(Deno.execPath(), {
    args: ["info", "--json", start],
  });
  if (!success) throw new Error(`deno info ${entry} failed: ${new TextDecoder().decode(stderr)}`);
  const modules = new Map<string, InfoModule>(
    (JSON.parse(new TextDecoder().decode(stdout)).modules as InfoModule[]).map((m) => [
      m.specifier,
      m,
    ]),
  );
  // Breadth first, so that each chain is a shortest one.
  const parent = new Map<string, string>();
  const queue = [start];
  const reached = new Set(queue);
  while (queue.length > 0) {
    const specifier = queue.shift()!;
    for (const dep of modules.get(specifier)?.dependencies ?? []) {
      if (dep.isDynamic || dep.code === undefined || reached.has(dep.code.specifier)) continue;
      reached.add(dep.code.specifier);
      parent.set(dep.code.specifier, specifier);
      queue.push(dep.code.specifier);
    }
  }
  const shown = (specifier: string) =>
    specifier.startsWith(ROOT.href) ? specifier.slice(ROOT.href.length) : specifier;
  return {
    reached,
    chainTo(specifier) {
      const chain: string[] = [];
      for (let at: string | undefined = specifier; at !== undefined; at = parent.get(at)) {
        chain.unshift(shown(at));
      }
      return chain.join(" -> ");
    },
  };
}

/** The URL of `path`, a path from the repository's root, as {@link StaticImports.reached} holds it. */
export function repositoryUrl(path: string): string {
  return new URL(path, ROOT).href;
}
