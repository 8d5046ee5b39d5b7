/**
 * The panel of the selected stage: its status and actions, why it will run
 * (the `status --explain` view: changed code keys with file:line, params and
 * deps old → new), the log of its last run (streamed while it runs), its
 * recent runs, params, deps and outs.
 *
 * @module
 */

import type { JSX } from "preact";
import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import type { Explanation, LogLine, StageDetail, StageState } from "../protocol.ts";
import { ApiError, fetchStage, runStages } from "./api.ts";
import { ago, duration, shortHash, STATUS_LABEL, value } from "./format.ts";
import { store, useNow } from "./store.ts";

/** Props of {@link StagePanel}. */
export interface StagePanelProps {
  /** The stage. */
  readonly name: string;
  /** Its state (from the event stream). */
  readonly state: StageState | undefined;
  /** A wave is running. */
  readonly busy: boolean;
  /** Select another stage. */
  readonly onSelect: (name: string | undefined) => void;
  /** Report a failed action. */
  readonly onError: (message: string) => void;
}

/** How many lines of log the panel keeps. */
const LOG_LINES_SHOWN = 5000;

/** The stage panel. */
export function StagePanel(props: StagePanelProps): JSX.Element {
  const { name, state, onSelect, onError } = props;
  const [detail, setDetail] = useState<StageDetail | undefined>(undefined);
  const [missing, setMissing] = useState<string | undefined>(undefined);
  const [log, setLog] = useState<PanelLog | undefined>(undefined);
  // Log lines streamed since the last detail was asked for, with their
  // sequence numbers: the detail's log holds those up to its own `seq`.
  const streamed = useRef<{ seq: number; lines: readonly LogLine[] }[]>([]);
  const loaded = useRef(false);
  /** The `seq` of the detail shown: streamed lines up to it are in its log. */
  const baseSeq = useRef(0);

  useEffect(() => {
    setDetail(undefined);
    setLog(undefined);
    streamed.current = [];
    loaded.current = false;
    baseSeq.current = 0;
    // Lines printed from now on arrive with the event stream.
    return store.onLog(name, (lines, seq) => {
      // The event stream may lag behind a detail that already holds these lines.
      if (seq <= baseSeq.current) return;
      streamed.current.push({ seq, lines });
      if (streamed.current.length > LOG_LINES_SHOWN) streamed.current.shift();
      if (!loaded.current) return;
      setLog((old) =>
        keepLast({ lines: [...(old?.lines ?? []), ...lines], dropped: old?.dropped ?? 0 })
      );
    });
  }, [name]);

  // Fetch the detail when the stage or its state changes: a new prediction
  // brings a new explanation, a finished run new hashes, a new run a new log.
  const stateKey = JSON.stringify(state ?? null);
  useEffect(() => {
    let stale = false;
    const timer = setTimeout(() => {
      fetchStage(name).then((d) => {
        if (stale) return;
        setDetail(d);
        setMissing(undefined);
        streamed.current = streamed.current.filter((entry) => entry.seq > d.seq);
        const later = streamed.current.flatMap((entry) => entry.lines);
        loaded.current = true;
        baseSeq.current = Math.max(baseSeq.current, d.seq);
        setLog(
          d.log || later.length > 0
            ? keepLast({
              lines: [...(d.log?.lines ?? []), ...later],
              dropped: d.log?.dropped ?? 0,
              ...(d.log?.finished !== undefined && later.length === 0
                ? { finished: d.log.finished, status: d.log.status }
                : {}),
            })
            : undefined,
        );
      }).catch((error) => {
        if (stale) return;
        if (error instanceof ApiError && error.status === 404) setMissing(error.message);
        else onError(`cannot load ${name}: ${error.message}`);
      });
    }, loaded.current ? 80 : 0);
    return () => {
      stale = true;
      clearTimeout(timer);
    };
  }, [name, stateKey]);

  const run = (force: boolean) => {
    runStages({ stages: [name], force }).catch((error) => onError(error.message));
  };

  const status = state?.status ?? "checking";
  return (
    <aside class="panel" data-panel-stage={name}>
      <header class="panel-head">
        <div class="panel-title">
          <h2 title={name}>{name}</h2>
          <button
            type="button"
            class="close"
            title="Close (Esc)"
            onClick={() => onSelect(undefined)}
          >
            ×
          </button>
        </div>
        <div class="panel-status">
          <span class={`badge status-${status}`} data-role="status">{STATUS_LABEL[status]}</span>
          <Elapsed state={state} />
        </div>
        <div class="panel-actions">
          <button
            type="button"
            class="primary"
            data-action="run"
            title="Run this stage and whatever upstream of it is stale"
            onClick={() => run(false)}
          >
            Run
          </button>
          <button
            type="button"
            data-action="force"
            title="Run this stage even if it is up to date (upstream only when stale)"
            onClick={() => run(true)}
          >
            Force run
          </button>
        </div>
      </header>
      {missing && <p class="empty">{missing}</p>}
      {state?.status === "failed" && state.error && (
        <section class="failure" data-section="error">
          <h3>Error</h3>
          <pre>{state.error}</pre>
        </section>
      )}
      {state?.status === "blocked" && state.error && (
        <p class="note" data-section="blocked">Not run: {state.error}</p>
      )}
      {detail && <Explain explain={detail.explain} />}
      <LogView log={log} running={status === "running"} />
      {detail && <Runs runs={detail.runs} />}
      {detail && <Declaration detail={detail} onSelect={onSelect} />}
    </aside>
  );
}

/** The log the panel shows. */
interface PanelLog {
  readonly lines: LogLine[];
  readonly dropped: number;
  /** For a log recorded before this page's server saw a run: when that run ended. */
  readonly finished?: number;
  /** And how. */
  readonly status?: string | undefined;
}

/** The last {@link LOG_LINES_SHOWN} lines, counting those dropped. */
function keepLast(log: PanelLog): PanelLog {
  const cut = Math.max(0, log.lines.length - LOG_LINES_SHOWN);
  return cut === 0 ? log : { ...log, lines: log.lines.slice(cut), dropped: log.dropped + cut };
}

function Elapsed(props: { state: StageState | undefined }): JSX.Element | null {
  const { state } = props;
  const running = state?.status === "running";
  const now = useNow(running);
  if (running && state?.started !== undefined) {
    return <span class="muted">{duration(Math.max(0, now - state.started))}</span>;
  }
  if (state?.duration_ms !== undefined && state.finished !== undefined) {
    return (
      <span class="muted">{duration(state.duration_ms)}, {ago(state.finished, Date.now())}</span>
    );
  }
  return null;
}

/** Why the stage will run: reasons, then each change. */
function Explain(props: { explain: Explanation | undefined }): JSX.Element {
  const { explain } = props;
  if (!explain) {
    return (
      <section data-section="explain">
        <h3>Why</h3>
        <p class="muted">Checking…</p>
      </section>
    );
  }
  const { code, params, deps } = explain.changes;
  return (
    <section data-section="explain">
      <h3>Why</h3>
      {explain.status === "up-to-date"
        ? (
          <p class="muted">
            Up to date: its code, params and deps match its lock file.
            {explain.restore.length > 0 &&
              ` Restores ${explain.restore.join(", ")} from the cache.`}
          </p>
        )
        : (
          <p>
            Will run:{" "}
            {explain.reasons.map((reason) => (
              <span key={reason} class="chip" data-reason={reason}>{reason}</span>
            ))}
            {explain.runCache && (
              <span class="muted">
                (outs for these inputs are in the run cache: restored, not run)
              </span>
            )}
          </p>
        )}
      {code.length > 0 && (
        <div class="changes" data-changes="code">
          <h4>Code</h4>
          <ul>
            {code.map((change) => (
              <li key={change.key} data-key={change.key}>
                <code class="key">{change.key}</code>
                <span class="change-line">
                  <span class="hash">{shortHash(change.old)} → {shortHash(change.new)}</span>
                  {change.file && (
                    <span class="where">
                      {change.file}
                      {change.line ? `:${change.line}` : ""}
                    </span>
                  )}
                </span>
              </li>
            ))}
          </ul>
        </div>
      )}
      {params.length > 0 && (
        <div class="changes" data-changes="params">
          <h4>Params</h4>
          <ul>
            {params.map((change) => (
              <li key={change.key} data-key={change.key}>
                <code class="key">{change.key}</code>
                <span class="change-line">
                  <code>{value(change.old)}</code> → <code>{value(change.new)}</code>
                </span>
              </li>
            ))}
          </ul>
        </div>
      )}
      {deps.length > 0 && (
        <div class="changes" data-changes="deps">
          <h4>Deps</h4>
          <ul>
            {deps.map((change) => (
              <li key={change.path} data-key={change.path}>
                <code class="key">{change.path}</code>
                <span class="change-line">
                  <span class="hash">{shortHash(change.old)} → {shortHash(change.new)}</span>
                </span>
              </li>
            ))}
          </ul>
        </div>
      )}
    </section>
  );
}

/** The log of the last run, following new lines while the stage runs. */
function LogView(props: { log: PanelLog | undefined; running: boolean }): JSX.Element {
  const { log, running } = props;
  const box = useRef<HTMLPreElement>(null);
  const follow = useRef(true);
  useLayoutEffect(() => {
    const element = box.current;
    if (element && follow.current) element.scrollTop = element.scrollHeight;
  }, [log]);
  const onScroll = () => {
    const element = box.current;
    if (element) {
      follow.current = element.scrollTop + element.clientHeight >= element.scrollHeight - 8;
    }
  };
  return (
    <section data-section="log">
      <h3>
        Log {running && <span class="live">live</span>}
        {!running && log?.finished !== undefined && (
          <span class="muted when">
            {log.status} {ago(log.finished, Date.now())}
          </span>
        )}
      </h3>
      {!log || (log.lines.length === 0 && log.dropped === 0)
        ? (
          <p class="muted">
            {log ? "The last run printed nothing." : "No run of this stage recorded yet."}
          </p>
        )
        : (
          <pre class="log" ref={box} onScroll={onScroll} data-role="log">
            {log.dropped > 0 && (
              <span class="muted">{`… ${log.dropped} earlier lines not kept\n`}</span>
            )}
            {log.lines.map((line, i) => (
              <span key={i} class={line.stream === "stderr" ? "stderr" : undefined}>
                {line.text}
                {"\n"}
              </span>
            ))}
          </pre>
        )}
    </section>
  );
}

/** Recent runs: durations as bars, newest on the right. */
function Runs(props: { runs: StageDetail["runs"] }): JSX.Element | null {
  const { runs } = props;
  if (runs.length === 0) return null;
  const shown = [...runs].reverse();
  const longest = Math.max(...shown.map((r) => r.duration_ms), 1);
  const now = Date.now();
  return (
    <section data-section="runs">
      <h3>Recent runs</h3>
      <div class="bars" role="img" aria-label="durations of recent runs">
        {shown.map((run, i) => (
          <span
            key={i}
            class={`bar status-${run.status}`}
            style={{ height: `${Math.max(4, (run.duration_ms / longest) * 48)}px` }}
            title={`${run.status} in ${duration(run.duration_ms)}, ${ago(run.finished, now)}`}
          />
        ))}
      </div>
      <table class="runs">
        <tbody>
          {runs.slice(0, 5).map((run, i) => (
            <tr key={i} data-run={run.run}>
              <td>{ago(run.finished, now)}</td>
              <td>{run.status}</td>
              <td class="num">{duration(run.duration_ms)}</td>
              <td class="muted" title={run.run ? `pivot show ${run.run}` : undefined}>
                {run.command ?? ""}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

/** Where it is declared; its params, deps and outs. */
function Declaration(props: {
  detail: StageDetail;
  onSelect: (name: string) => void;
}): JSX.Element {
  const { detail, onSelect } = props;
  const params = Object.entries(detail.params);
  return (
    <>
      <section data-section="params">
        <h3>Params</h3>
        {params.length === 0 ? <p class="muted">None.</p> : (
          <table class="kv">
            <tbody>
              {params.map(([key, v]) => (
                <tr key={key}>
                  <td class="key">{key}</td>
                  <td>
                    <code>{value(v)}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <section data-section="deps">
        <h3>Deps</h3>
        {detail.deps.length === 0 ? <p class="muted">None.</p> : (
          <table class="kv">
            <tbody>
              {detail.deps.map((dep) => (
                <tr key={dep.path}>
                  <td class="key">{dep.path}</td>
                  <td class="hash">{shortHash(dep.hash)}</td>
                  <td>
                    {dep.producer && (
                      <button
                        type="button"
                        class="link"
                        onClick={() => onSelect(dep.producer!)}
                      >
                        ← {dep.producer}
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <section data-section="outs">
        <h3>Outs</h3>
        {detail.outs.length === 0 ? <p class="muted">None.</p> : (
          <table class="kv">
            <tbody>
              {detail.outs.map((out) => (
                <tr key={out.path}>
                  <td class="key">{out.path}</td>
                  <td class="hash">{shortHash(out.hash)}</td>
                  <td>
                    <span class="chip">{out.kind}</span>
                    {!out.cache && <span class="chip">not cached</span>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <section data-section="code">
        <h3>Code</h3>
        <table class="kv">
          <tbody>
            {detail.definedAt && (
              <tr>
                <td class="key">declared</td>
                <td>
                  <code>
                    {detail.definedAt.file}
                    {detail.definedAt.line ? `:${detail.definedAt.line}` : ""}
                  </code>
                </td>
              </tr>
            )}
            {detail.runAt && (
              <tr>
                <td class="key">run function</td>
                <td>
                  <code>{detail.runAt.file}:{detail.runAt.line}</code>
                </td>
              </tr>
            )}
            <tr>
              <td class="key">pipeline</td>
              <td>{detail.node.pipeline}</td>
            </tr>
            {detail.mutex.length > 0 && (
              <tr>
                <td class="key">mutex</td>
                <td>{detail.mutex.join(", ")}</td>
              </tr>
            )}
          </tbody>
        </table>
      </section>
    </>
  );
}
