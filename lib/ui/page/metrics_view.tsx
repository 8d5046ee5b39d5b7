/**
 * The Metrics tab: every metric of the project, its value at HEAD, in the
 * workspace, and the change — what `pivot metrics diff --all` prints, from
 * the same code on the server (`GET /api/metrics`). Read again when a wave
 * that ran something ends.
 *
 * @module
 */

import type { JSX } from "preact";
import { useEffect, useState } from "preact/hooks";
import type { MetricsView as Metrics, WaveInfo } from "../protocol.ts";
import { fetchMetrics } from "./api.ts";

/** Props of {@link MetricsView}. */
export interface MetricsViewProps {
  /** The current or last wave: a new finished wave reads the metrics again. */
  readonly wave: WaveInfo;
  /** Reports a failed request. */
  readonly onError: (message: string) => void;
}

/** The metrics table with its toolbar. */
export function MetricsView(props: MetricsViewProps): JSX.Element {
  const [metrics, setMetrics] = useState<Metrics | undefined>(undefined);
  const [changedOnly, setChangedOnly] = useState(false);
  const [version, setVersion] = useState(0);
  const summary = props.wave.summary;
  useEffect(() => {
    if (summary && summary.ran + summary.restored > 0) setVersion((v) => v + 1);
  }, [summary]);
  useEffect(() => {
    let current = true;
    fetchMetrics().then((answer) => current && setMetrics(answer)).catch((error) =>
      props.onError(`metrics: ${(error as Error).message}`)
    );
    return () => {
      current = false;
    };
  }, [version]);
  const rows = metrics?.rows.filter((row) => !changedOnly || row.changed) ?? [];
  return (
    <section class="metrics" data-view="metrics">
      <div class="plots-bar">
        <label>
          <input
            type="checkbox"
            data-action="changed-only"
            checked={changedOnly}
            onChange={(event) => setChangedOnly((event.target as HTMLInputElement).checked)}
          />{" "}
          Changed only
        </label>
        <button type="button" data-action="reload" onClick={() => setVersion((v) => v + 1)}>
          Reload
        </button>
      </div>
      <div class="metrics-body">
        {metrics === undefined
          ? <p class="muted">Reading the metrics…</p>
          : metrics.problem !== undefined
          ? <p class="banner problem" data-role="metrics-problem">{metrics.problem}</p>
          : metrics.files.length === 0
          ? (
            <p class="empty" data-role="no-metrics">
              This pipeline declares no metric. Declare one with metric(path, loader) in a stage's
              outs (docs/metrics.md).
            </p>
          )
          : (
            <>
              {metrics.baseProblem !== undefined && (
                <p class="muted" data-role="base-problem">
                  No values at {metrics.base}: {metrics.baseProblem}
                </p>
              )}
              {metrics.files.flatMap((file) =>
                [
                  file.missing && `${file.path}: ${file.missing}`,
                  file.baseMissing && `${file.path} at ${metrics.base}: ${file.baseMissing}`,
                ].filter((note): note is string => Boolean(note)).map((note) => (
                  <p key={note} class="muted" data-role="metrics-note">{note}</p>
                ))
              )}
              <table class="metrics-table" data-role="metrics-table">
                <thead>
                  <tr>
                    <th>File</th>
                    <th>Metric</th>
                    <th class="num">{metrics.base}</th>
                    <th class="num">Workspace</th>
                    <th class="num">Change</th>
                  </tr>
                </thead>
                <tbody>
                  {rows.map((row) => (
                    <tr
                      key={`${row.path}\0${row.key}`}
                      class={row.changed ? "changed" : undefined}
                      data-metric={`${row.path}:${row.key}`}
                    >
                      <td class="path">{row.path}</td>
                      <td>{row.key}</td>
                      <td class="num" data-col="old">{shown(row.old)}</td>
                      <td class="num" data-col="new">{shown(row.new)}</td>
                      <td class="num" data-col="change">
                        {row.change === null
                          ? (row.changed ? "changed" : "")
                          : row.change > 0
                          ? `+${row.change}`
                          : String(row.change)}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
              {rows.length === 0 && <p class="muted">No metric changed since {metrics.base}.</p>}
            </>
          )}
      </div>
    </section>
  );
}

/** A metric value as the CLI's table shows it: strings bare, others as JSON, `—` when absent. */
function shown(value: unknown): string {
  if (value === undefined) return "—";
  return typeof value === "string" ? value : JSON.stringify(value);
}
