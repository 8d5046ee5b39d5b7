/**
 * The page's files: the HTML shell, the stylesheet and the script (the page
 * code with Preact, bundled by `deno task bundles` into
 * `_generated/page.js`). They are text imports, so they belong to Pivot's
 * module graph: Deno fetches and caches them with the rest of Pivot, from a
 * checkout, from JSR or in a compiled binary, and the UI needs no network.
 *
 * @module
 */

/** A file the server sends. */
export interface Asset {
  /** Its bytes. */
  readonly body: Uint8Array<ArrayBuffer>;
  /** `Content-Type`. */
  readonly type: string;
  /** A strong validator of its content (also used to name it in URLs). */
  readonly etag: string;
}

/** The assets by path. */
export interface Assets {
  /** `/` (the shell names the others with their content hash, so they can be cached). */
  readonly page: Asset;
  /** Every other asset, by URL path. */
  readonly files: ReadonlyMap<string, Asset>;
}

const FAVICON = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">` +
  `<rect width="32" height="32" rx="7" fill="#1f2937"/>` +
  `<circle cx="10" cy="10" r="4" fill="#34d399"/><circle cx="22" cy="16" r="4" fill="#60a5fa"/>` +
  `<circle cx="10" cy="23" r="4" fill="#fbbf24"/>` +
  `<path d="M13 11l6 4M13 22l6-5" stroke="#e5e7eb" stroke-width="2"/></svg>`;

let loading: Promise<Assets> | undefined;

/** Load the assets (once per process). */
export function loadAssets(): Promise<Assets> {
  return loading ??= load();
}

async function load(): Promise<Assets> {
  const [script, style] = await Promise.all([
    import("./_generated/page.js", { with: { type: "text" } }),
    import("./page.css", { with: { type: "text" } }),
  ]);
  const js = await asset(script.default, "text/javascript; charset=utf-8");
  const css = await asset(style.default, "text/css; charset=utf-8");
  const icon = await asset(FAVICON, "image/svg+xml");
  const html = [
    "<!doctype html>",
    '<html lang="en">',
    "<head>",
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    "<title>Pivot</title>",
    `<link rel="icon" href="/favicon.svg?v=${icon.etag}" type="image/svg+xml">`,
    `<link rel="stylesheet" href="/assets/page.css?v=${css.etag}">`,
    `<script defer src="/assets/page.js?v=${js.etag}"></script>`,
    "</head>",
    '<body><div id="app"></div><noscript>The Pivot UI needs JavaScript.</noscript></body>',
    "</html>",
    "",
  ].join("\n");
  return {
    page: await asset(html, "text/html; charset=utf-8"),
    files: new Map([
      ["/assets/page.js", js],
      ["/assets/page.css", css],
      ["/favicon.svg", icon],
    ]),
  };
}

async function asset(text: string, type: string): Promise<Asset> {
  const body = new TextEncoder().encode(text);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", body));
  const etag = Array.from(digest.subarray(0, 8), (b) => b.toString(16).padStart(2, "0")).join("");
  return { body, type, etag };
}
