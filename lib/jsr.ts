/**
 * Where JSR is: `https://jsr.io/`, or the registry named by the `JSR_URL`
 * environment variable, which Deno itself honours (a mirror, or a test
 * registry on loopback). Pivot needs the same address Deno uses, to tell a
 * JSR module URL (`<registry>@scope/name/1.2.3/mod.ts`) from any other
 * remote module, to know the host a worker imports JSR modules from, and
 * to recognise its own published modules.
 *
 * @module
 */

/** jsr.io, when `JSR_URL` is not set. */
const DEFAULT_JSR_URL = "https://jsr.io/";

/**
 * The JSR registry URL Deno uses, with a trailing slash (as Deno normalises
 * `JSR_URL`). Needs `--allow-env=JSR_URL`; without it, jsr.io.
 *
 * @example
 * ```ts
 * jsrUrl(); // "https://jsr.io/" unless JSR_URL is set
 * ```
 */
export function jsrUrl(): string {
  let value: string | undefined;
  try {
    value = Deno.env.get("JSR_URL");
  } catch {
    value = undefined; // no env permission (a stage worker)
  }
  if (!value) return DEFAULT_JSR_URL;
  try {
    return new URL(`${value.replace(/\/+$/, "")}/`).href;
  } catch {
    return DEFAULT_JSR_URL; // Deno ignores an invalid JSR_URL too
  }
}

/** A JSR package version, as found in a module URL. */
export interface JsrModule {
  /** `@scope/name`. */
  readonly name: string;
  /** The resolved version, `1.2.3`. */
  readonly version: string;
  /** The module's path inside the package, `/mod.ts`. */
  readonly path: string;
}

/**
 * The package, version and path of a module URL served by the JSR registry
 * at `registry` (default {@link jsrUrl}), or undefined for any other URL.
 *
 * @example
 * ```ts
 * jsrModuleOf("https://jsr.io/@std/path/1.0.8/join.ts", "https://jsr.io/");
 * // { name: "@std/path", version: "1.0.8", path: "/join.ts" }
 * ```
 */
export function jsrModuleOf(url: string, registry: string = jsrUrl()): JsrModule | undefined {
  if (!url.startsWith(registry)) return undefined;
  const [, name, version, path] =
    /^(@[^/]+\/[^/]+)\/([^/]+)(\/.*)$/.exec(url.slice(registry.length)) ??
      [];
  if (!name || !version || !path || version.endsWith("_meta.json")) return undefined;
  return { name, version, path };
}
