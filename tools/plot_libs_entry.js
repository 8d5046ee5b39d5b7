// The chart libraries of Pivot's plot pages, as browser globals (the names
// their own UMD builds use). Bundled into lib/outputs/_vendor/plot_libs.js by
// tools/build_plot_libs.ts; the versions are the ones pinned in deno.json.
import vegaEmbed from "vega-embed";
import * as vega from "vega";
import * as vegaLite from "vega-lite";

globalThis.vegaEmbed = vegaEmbed;
globalThis.vega = vega;
globalThis.vegaLite = vegaLite;
