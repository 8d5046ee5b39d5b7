/**
 * The Plots tab: the page `pivot plots show` (or `plots diff` against HEAD)
 * makes, served by the UI and shown in a sandboxed frame (it runs the chart
 * libraries, which the UI's own page does not allow). It is drawn again when
 * a wave that ran something ends.
 *
 * @module
 */

import type { JSX } from "preact";
import { useEffect, useState } from "preact/hooks";
import type { WaveInfo } from "../protocol.ts";

/** Props of {@link PlotsView}. */
export interface PlotsViewProps {
  /** The current or last wave: a new finished wave redraws the plots. */
  readonly wave: WaveInfo;
}

/** The plots frame with its toolbar. */
export function PlotsView(props: PlotsViewProps): JSX.Element {
  const [compare, setCompare] = useState(false);
  const [version, setVersion] = useState(0);
  const summary = props.wave.summary;
  // A wave that changed outs changes the plots.
  useEffect(() => {
    if (summary && summary.ran + summary.restored > 0) setVersion((v) => v + 1);
  }, [summary]);
  const src = `/plots?${compare ? "rev=HEAD&" : ""}v=${version}`;
  return (
    <section class="plots" data-view="plots">
      <div class="plots-bar">
        <label>
          <input
            type="checkbox"
            data-action="compare"
            checked={compare}
            onChange={(event) => setCompare((event.target as HTMLInputElement).checked)}
          />{" "}
          Compare with HEAD
        </label>
        <button type="button" data-action="redraw" onClick={() => setVersion((v) => v + 1)}>
          Redraw
        </button>
      </div>
      <iframe
        key={src}
        class="plots-frame"
        title="Plots"
        src={src}
        sandbox="allow-scripts"
        data-role="plots-frame"
      />
    </section>
  );
}
