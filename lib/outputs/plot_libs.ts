/**
 * The chart libraries of plot pages, as one browser script: Vega, Vega-Lite
 * and vega-embed, bundled from npm at the versions pinned in deno.json
 * (`_vendor/plot_libs.js`, built by `deno task bundles plot-libs`).
 *
 * The bundle is a text import, so it is part of Pivot's module graph: Deno
 * fetches and caches it with the rest of Pivot, whether Pivot runs from a
 * checkout, from JSR (`deno install` makes it available offline) or from a
 * compiled binary. Only `plots` (and the web UI) import this module: the
 * 850 KiB are never loaded by other commands. Why it is built this way:
 * docs/plots.md.
 *
 * @module
 */

/**
 * The browser script defining the globals `vegaEmbed`, `vega` and
 * `vegaLite`, safe to inline in a `<script>` element (it holds neither
 * `</script` nor `<!--`).
 *
 * @example
 * ```ts
 * const html = `<script>${await plotLibsScript()}</script>`;
 * ```
 */
export async function plotLibsScript(): Promise<string> {
  const bundle = await import("./_vendor/plot_libs.js", { with: { type: "text" } });
  return bundle.default;
}
