/**
 * The web UI's page: a header (project, counts, the running wave, Run all
 * and Cancel), the DAG, and the panel of the selected stage. Browser code,
 * bundled with Preact into `lib/ui/_generated/page.js` by `deno task
 * bundles`.
 *
 * The selection is kept in the address (`#stage=NAME`), so a reload or a
 * shared link opens the same panel.
 *
 * @module
 */

import { render } from "preact";
import type { JSX } from "preact";
import { useEffect, useMemo, useState } from "preact/hooks";
import type { NodeStatus, Snapshot, StageState, WaveInfo } from "../protocol.ts";
import { cancelWave, runStages } from "./api.ts";
import { duration, STATUS_LABEL, STATUS_ORDER } from "./format.ts";
import { GraphView } from "./graph_view.tsx";
import { MetricsView } from "./metrics_view.tsx";
import { PlotsView } from "./plots_view.tsx";
import { StagePanel } from "./stage_panel.tsx";
import { type PageState, store, useNow, usePageState } from "./store.ts";

/** What the address says: the view, and the selected stage (`#view=plots`, `#stage=NAME`). */
function fromHash(): { view: View; stage: string | undefined } {
  const params = new URLSearchParams(location.hash.slice(1));
  return {
    view: VIEWS.find((view) => view === params.get("view")) ?? "pipeline",
    stage: params.get("stage") ?? undefined,
  };
}

function toHash(view: View, stage: string | undefined): string {
  const params = new URLSearchParams();
  if (view !== "pipeline") params.set("view", view);
  if (stage !== undefined) params.set("stage", stage);
  const text = params.toString();
  return text === "" ? location.pathname : `#${text}`;
}

/** The tabs. */
const VIEWS = ["pipeline", "metrics", "plots"] as const;
type View = typeof VIEWS[number];
const VIEW_LABEL: Record<View, string> = {
  pipeline: "Pipeline",
  metrics: "Metrics",
  plots: "Plots",
};

function App(): JSX.Element {
  const page = usePageState();
  const [selected, setSelected] = useState(() => fromHash().stage);
  const [view, setView] = useState<View>(() => fromHash().view);
  const [search, setSearch] = useState("");
  const [focus, setFocus] = useState<{ name: string; n: number } | undefined>(undefined);
  const [errors, setErrors] = useState<{ id: number; message: string }[]>([]);

  const select = (name: string | undefined) => {
    setSelected(name);
    history.replaceState(null, "", toHash(view, name));
  };
  const show = (next: View) => {
    setView(next);
    history.replaceState(null, "", toHash(next, selected));
  };
  useEffect(() => {
    const onHash = () => {
      const { view, stage } = fromHash();
      setView(view);
      setSelected(stage);
    };
    const onKey = (event: KeyboardEvent) => {
      if (event.key === "Escape" && !(event.target as Element).closest("input")) select(undefined);
      if (event.key === "/" && !(event.target as Element).closest("input")) {
        event.preventDefault();
        document.querySelector<HTMLInputElement>("input.search")?.focus();
      }
    };
    addEventListener("hashchange", onHash);
    addEventListener("keydown", onKey);
    return () => {
      removeEventListener("hashchange", onHash);
      removeEventListener("keydown", onKey);
    };
    // Again with each view and selection: the handlers read them.
  }, [view, selected]);

  const onError = (message: string) =>
    setErrors((old) => [...old.slice(-3), { id: Date.now() + Math.random(), message }]);

  const snapshot = page.snapshot;
  const matches = useMemo(() => {
    const needle = search.trim().toLowerCase();
    if (!snapshot || needle === "") return undefined;
    return new Set(
      snapshot.stages.filter((s) => s.name.toLowerCase().includes(needle)).map((s) => s.name),
    );
  }, [search, snapshot]);

  useEffect(() => {
    if (snapshot) document.title = `${snapshot.project.name} · Pivot`;
  }, [snapshot?.project.name]);

  if (!snapshot) {
    return (
      <div class="loading" data-role="loading">
        {page.connected ? "Loading the pipeline…" : "Connecting to pivot…"}
      </div>
    );
  }
  const known = selected !== undefined && snapshot.stages.some((s) => s.name === selected);
  return (
    <div class="app">
      <Header
        page={page}
        snapshot={snapshot}
        view={view}
        onView={show}
        search={search}
        onSearch={setSearch}
        onFind={() => {
          const first = matches && [...matches][0];
          if (first) {
            select(first);
            setFocus((f) => ({ name: first, n: (f?.n ?? 0) + 1 }));
          }
        }}
        onError={onError}
      />
      {page.problem && (
        <div class="banner problem" role="alert" data-role="problem">
          <strong>The pipeline on disk cannot be loaded</strong> (the last good one is shown):{" "}
          {page.problem}
        </div>
      )}
      <main class="main">
        {view === "plots"
          ? <PlotsView wave={page.wave} />
          : view === "metrics"
          ? <MetricsView wave={page.wave} onError={onError} />
          : snapshot.stages.length === 0
          ? <p class="empty">This pipeline has no stages yet.</p>
          : (
            <GraphView
              snapshot={snapshot}
              states={page.states}
              selected={known ? selected : undefined}
              onSelect={select}
              matches={matches}
              focus={focus}
              onError={onError}
            />
          )}
        {known && view === "pipeline" && (
          <StagePanel
            name={selected!}
            state={page.states[selected!]}
            busy={page.wave.running}
            onSelect={select}
            onError={onError}
          />
        )}
      </main>
      <div class="toasts">
        {[
          ...page.warnings.map((w) => ({ ...w, kind: "warning" as const })),
          ...errors.map((e) => ({ ...e, kind: "error" as const })),
        ].map((toast) => (
          <div key={`${toast.kind}${toast.id}`} class={`toast ${toast.kind}`} role="status">
            <span>{toast.message}</span>
            <button
              type="button"
              class="close"
              onClick={() =>
                toast.kind === "warning"
                  ? store.dismissWarning(toast.id)
                  : setErrors((old) =>
                    old.filter((e) =>
                      e.id !== toast.id
                    )
                  )}
            >
              ×
            </button>
          </div>
        ))}
      </div>
    </div>
  );
}

interface HeaderProps {
  readonly page: PageState;
  readonly snapshot: Snapshot;
  readonly view: View;
  readonly onView: (view: View) => void;
  readonly search: string;
  readonly onSearch: (text: string) => void;
  readonly onFind: () => void;
  readonly onError: (message: string) => void;
}

function Header(props: HeaderProps): JSX.Element {
  const { page, snapshot, view, onView, search, onSearch, onFind, onError } = props;
  const counts = countStatuses(page.states);
  const stale = (counts["will-run"] ?? 0) + (counts.failed ?? 0) + (counts.blocked ?? 0) +
    (counts.cancelled ?? 0);
  return (
    <header class="top">
      <div class="brand">
        <span class="logo" aria-hidden="true" />
        <span class="project" data-role="project">{snapshot.project.name}</span>
        {snapshot.mode === "watch" && (
          <span class="chip watch" title="repro --watch --ui">watching</span>
        )}
      </div>
      <nav class="tabs" role="tablist">
        {VIEWS.map((tab) => (
          <button
            key={tab}
            type="button"
            role="tab"
            aria-selected={view === tab}
            class={view === tab ? "tab active" : "tab"}
            data-tab={tab}
            onClick={() => onView(tab)}
          >
            {VIEW_LABEL[tab]}
          </button>
        ))}
      </nav>
      <div class="counts" data-role="counts">
        {STATUS_ORDER.filter((status) => counts[status]).map((status) => (
          <span key={status} class={`count status-${status}`} data-count={status}>
            <span class="dot" />
            {counts[status]} {STATUS_LABEL[status]}
          </span>
        ))}
      </div>
      <Wave wave={page.wave} />
      <div class="actions">
        <input
          class="search"
          type="search"
          placeholder="Find a stage  /"
          value={search}
          onInput={(event) => onSearch((event.target as HTMLInputElement).value)}
          onKeyDown={(event) => {
            if (event.key === "Enter") onFind();
            if (event.key === "Escape") onSearch("");
          }}
        />
        <button
          type="button"
          class="primary"
          data-action="run-all"
          title="Run every stage that is not up to date"
          disabled={stale === 0 && !page.wave.running && counts.checking === undefined}
          onClick={() => runStages({}).catch((error) => onError(error.message))}
        >
          Run all
        </button>
        <button
          type="button"
          class="danger"
          data-action="cancel"
          title="Cancel the running wave"
          disabled={!page.wave.running}
          onClick={() => cancelWave().catch((error) => onError(error.message))}
        >
          Cancel
        </button>
        <span
          class={`link-state ${page.connected ? "up" : "down"}`}
          data-role="connection"
          title={page.connected ? "Live: changes appear as they happen" : "Reconnecting to pivot…"}
        >
          {page.connected ? "live" : "offline"}
        </span>
      </div>
    </header>
  );
}

function Wave(props: { wave: WaveInfo }): JSX.Element | null {
  const { wave } = props;
  const now = useNow(wave.running, 500);
  if (wave.running) {
    return (
      <div class="wave running" data-role="wave">
        <span class="spinner" aria-hidden="true" />
        {wave.done}/{wave.total} · {duration(Math.max(0, now - (wave.started ?? now)))}
      </div>
    );
  }
  const s = wave.summary;
  if (!s) return null;
  return (
    <div class="wave" data-role="wave" title="The last wave">
      last run: {s.ran} ran{s.failed ? `, ${s.failed} failed` : ""}
      {s.blocked ? `, ${s.blocked} blocked` : ""}
      {s.cancelled ? `, ${s.cancelled} cancelled` : ""} in {duration(s.duration_ms)}
    </div>
  );
}

function countStatuses(
  states: Readonly<Record<string, StageState>>,
): Partial<Record<NodeStatus, number>> {
  const counts: Partial<Record<NodeStatus, number>> = {};
  for (const state of Object.values(states)) counts[state.status] = (counts[state.status] ?? 0) + 1;
  return counts;
}

store.connect();
render(<App />, document.getElementById("app")!);
