/**
 * The DAG: stage nodes (HTML, so text stays crisp and selectable) over an SVG
 * of edges and variant boxes, in one layer that pans (drag) and zooms (wheel,
 * pinch, buttons) as a whole. A minimap shows where the view is in a large
 * pipeline and moves it on a click.
 *
 * Each node carries `data-stage` and `data-status` (SPEC §11), so tests and
 * users' scripts can find it.
 *
 * @module
 */

import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from "preact/hooks";
import type { JSX } from "preact";
import type { Snapshot, StageState } from "../protocol.ts";
import { duration, STATUS_LABEL } from "./format.ts";
import { chooseDirection, type Direction, type PlacedNode } from "../layout.ts";
import { fetchLayout } from "./api.ts";
import { drawn, type DrawnLayout, edgePath } from "./layout.ts";
import { pure } from "./pure.ts";
import { useNow } from "./store.ts";

/** A view of the drawing: translation (screen pixels) and scale. */
interface View {
  readonly x: number;
  readonly y: number;
  readonly k: number;
}

const MIN_SCALE = 0.04;
const MAX_SCALE = 2.5;
/** Below this scale a fitted pipeline is unreadable: start at the sources instead. */
const READABLE_SCALE = 0.45;
/** The scale of the first view when the whole graph is not readable. */
const START_SCALE = 0.8;
const MINIMAP_WIDTH = 200;
const MINIMAP_HEIGHT = 120;
/** A minimap is stretched to at least this size across a long, thin graph. */
const MINIMAP_MIN = 36;
/** Where the reader's choice of direction is kept. */
const DIRECTION_KEY = "pivot-ui-direction";

/** Props of {@link GraphView}. */
export interface GraphViewProps {
  /** The pipeline. */
  readonly snapshot: Snapshot;
  /** Stage states. */
  readonly states: Readonly<Record<string, StageState>>;
  /** The selected stage. */
  readonly selected: string | undefined;
  /** Select a stage (undefined: none). */
  readonly onSelect: (name: string | undefined) => void;
  /** Stages matching the search box (undefined: no search). */
  readonly matches: ReadonlySet<string> | undefined;
  /** A stage to bring into view, with a counter so the same one can be asked again. */
  readonly focus: { readonly name: string; readonly n: number } | undefined;
  /** Report a failure. */
  readonly onError: (message: string) => void;
}

function clamp(k: number): number {
  return Math.min(MAX_SCALE, Math.max(MIN_SCALE, k));
}

/**
 * The pipeline graph: its layout, in the direction the reader chose (else
 * the one that fits the screen), comes from the server.
 */
export function GraphView(props: GraphViewProps): JSX.Element {
  const { snapshot, onError } = props;
  const [chosen, setChosen] = useState<Direction | undefined>(
    () => (localStorage.getItem(DIRECTION_KEY) as Direction | null) ?? undefined,
  );
  const direction = useMemo(
    () => chosen ?? chooseDirection(snapshot.stages, innerWidth / Math.max(innerHeight, 1)),
    [snapshot.graphVersion, chosen],
  );
  const [layout, setLayout] = useState<{ key: string; layout: DrawnLayout } | undefined>(
    undefined,
  );
  const key = `${snapshot.graphVersion}:${direction}`;
  useEffect(() => {
    let stale = false;
    const started = performance.now();
    fetchLayout(direction).then((answer) => {
      // A layout of an older graph is dropped: the newer snapshot asks again.
      if (stale || answer.version !== snapshot.graphVersion) return;
      performance.measure("pivot-layout", { start: started });
      setLayout({ key, layout: drawn(answer.layout) });
    }).catch((error) => !stale && onError(`cannot lay out the graph: ${error.message}`));
    return () => {
      stale = true;
    };
  }, [key]);
  const onDirection = (next: Direction) => {
    localStorage.setItem(DIRECTION_KEY, next);
    setChosen(next);
  };
  if (!layout) {
    return (
      <div class="graph">
        <p class="loading" data-role="laying-out">Laying out the graph…</p>
      </div>
    );
  }
  return <GraphCanvas {...props} layout={layout.layout} onDirection={onDirection} />;
}

interface GraphCanvasProps extends GraphViewProps {
  /** Where everything is. */
  readonly layout: DrawnLayout;
  /** Lay out the other way. */
  readonly onDirection: (direction: Direction) => void;
}

/** The drawing, with pan, zoom, selection and the minimap. */
function GraphCanvas(props: GraphCanvasProps): JSX.Element {
  const { snapshot, states, selected, onSelect, matches, focus, layout, onDirection } = props;
  const frame = useRef<HTMLDivElement>(null);
  const [measured, setSize] = useState<{ width: number; height: number } | undefined>(undefined);
  const size = measured ?? { width: 800, height: 600 };
  const [view, setView] = useState<View | undefined>(undefined);
  const drag = useRef<{ x: number; y: number; moved: boolean; id: number } | undefined>(undefined);

  useLayoutEffect(() => {
    const element = frame.current;
    if (!element) return;
    const measure = () => setSize({ width: element.clientWidth, height: element.clientHeight });
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(element);
    return () => observer.disconnect();
  }, []);

  // A new layout gets a fresh view, once the frame's size is known.
  useEffect(() => {
    if (measured) setView(startView(layout, measured));
  }, [layout, measured === undefined]);

  const current = view ?? startView(layout, size);

  const center = useCallback((node: PlacedNode, k = Math.max(current.k, 0.8)) => {
    setView({
      k,
      x: size.width / 2 - (node.x + node.width / 2) * k,
      y: size.height / 2 - (node.y + node.height / 2) * k,
    });
  }, [current.k, size]);

  useEffect(() => {
    const node = focus ? layout.nodes.get(focus.name) : undefined;
    if (node) center(node);
  }, [focus?.n]);

  const zoomAt = (factor: number, cx = size.width / 2, cy = size.height / 2) => {
    setView((v) => {
      const from = v ?? current;
      const k = clamp(from.k * factor);
      return { k, x: cx - (cx - from.x) * (k / from.k), y: cy - (cy - from.y) * (k / from.k) };
    });
  };

  const onWheel = (event: WheelEvent) => {
    event.preventDefault();
    const box = frame.current!.getBoundingClientRect();
    const speed = event.ctrlKey ? 0.01 : 0.0015;
    zoomAt(Math.exp(-event.deltaY * speed), event.clientX - box.left, event.clientY - box.top);
  };
  useEffect(() => {
    const element = frame.current;
    // A passive listener could not prevent the page from scrolling.
    element?.addEventListener("wheel", onWheel, { passive: false });
    return () => element?.removeEventListener("wheel", onWheel);
  });

  const onPointerDown = (event: PointerEvent) => {
    if (event.button !== 0) return;
    drag.current = { x: event.clientX, y: event.clientY, moved: false, id: event.pointerId };
  };
  const onPointerMove = (event: PointerEvent) => {
    const d = drag.current;
    if (!d || d.id !== event.pointerId) return;
    const dx = event.clientX - d.x;
    const dy = event.clientY - d.y;
    if (!d.moved && Math.hypot(dx, dy) < 4) return;
    if (!d.moved) frame.current?.setPointerCapture(event.pointerId);
    d.moved = true;
    d.x = event.clientX;
    d.y = event.clientY;
    setView((v) => {
      const from = v ?? current;
      return { ...from, x: from.x + dx, y: from.y + dy };
    });
  };
  const onPointerUp = (event: PointerEvent) => {
    const d = drag.current;
    drag.current = undefined;
    if (!d || d.moved) return;
    // A click: on a node selects it, elsewhere clears the selection.
    const target = (event.target as Element).closest("[data-stage]");
    onSelect(target?.getAttribute("data-stage") ?? undefined);
  };

  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if ((event.target as Element).closest("input, textarea")) return;
      if (event.key === "f") setView(fitView(layout, size));
      else if (event.key === "+" || event.key === "=") zoomAt(1.25);
      else if (event.key === "-") zoomAt(0.8);
    };
    addEventListener("keydown", onKey);
    return () => removeEventListener("keydown", onKey);
  });

  const related = useMemo(() => relatedEdges(snapshot, selected), [snapshot, selected]);

  return (
    <div class="graph">
      <div
        class="graph-frame"
        ref={frame}
        onPointerDown={onPointerDown}
        onPointerMove={onPointerMove}
        onPointerUp={onPointerUp}
        onPointerCancel={() => drag.current = undefined}
      >
        <div
          class="graph-layer"
          style={{
            transform: `translate(${current.x}px, ${current.y}px) scale(${current.k})`,
            width: `${layout.width}px`,
            height: `${layout.height}px`,
          }}
        >
          <svg
            class="graph-edges"
            width={layout.width}
            height={layout.height}
            viewBox={`0 0 ${layout.width} ${layout.height}`}
          >
            <defs>
              <marker
                id="arrow"
                viewBox="0 0 10 10"
                refX="9"
                refY="5"
                markerUnits="userSpaceOnUse"
                markerWidth="9"
                markerHeight="9"
                orient="auto-start-reverse"
              >
                <path d="M0,0 L10,5 L0,10 z" class="arrow-head" />
              </marker>
            </defs>
            <Edges layout={layout} related={related} />
          </svg>
          {snapshot.stages.map((stage) => {
            const box = layout.nodes.get(stage.name);
            if (!box) return null;
            const state = states[stage.name];
            return (
              <StageBox
                key={stage.name}
                name={stage.name}
                label={stage.variant !== undefined ? `@${stage.variant}` : stage.name}
                box={box}
                state={state}
                selected={stage.name === selected}
                dimmed={matches !== undefined && !matches.has(stage.name)}
              />
            );
          })}
        </div>
      </div>
      <div class="graph-tools">
        <button type="button" title="Zoom in (+)" onClick={() => zoomAt(1.25)}>+</button>
        <button type="button" title="Zoom out (-)" onClick={() => zoomAt(0.8)}>−</button>
        <button
          type="button"
          title="Fit the whole graph (f)"
          onClick={() => setView(fitView(layout, size))}
        >
          Fit
        </button>
        <button
          type="button"
          title="Actual size"
          onClick={() => zoomAt(1 / current.k)}
        >
          1:1
        </button>
        <button
          type="button"
          data-action="direction"
          title={`Lay out ${layout.direction === "LR" ? "top to bottom" : "left to right"}`}
          onClick={() => onDirection(layout.direction === "LR" ? "TB" : "LR")}
        >
          {layout.direction === "LR" ? "→" : "↓"}
        </button>
      </div>
      <Minimap layout={layout} states={states} view={current} size={size} onMove={setView} />
    </div>
  );
}

/** Edges touching `selected`, as `from\0to` keys. */
function relatedEdges(snapshot: Snapshot, selected: string | undefined): Set<string> {
  const keys = new Set<string>();
  if (selected === undefined) return keys;
  for (const stage of snapshot.stages) {
    for (const up of stage.upstream) {
      if (stage.name === selected || up === selected) keys.add(`${up}\u0000${stage.name}`);
    }
  }
  return keys;
}

/** The whole drawing in the frame, at most at scale 1. */
function fitView(layout: DrawnLayout, size: { width: number; height: number }): View {
  const k = clamp(Math.min(size.width / layout.width, size.height / layout.height, 1));
  return {
    k,
    x: (size.width - layout.width * k) / 2,
    y: Math.max(0, (size.height - layout.height * k) / 2),
  };
}

/**
 * The first view: the whole drawing when it is readable so, else a readable
 * scale at the start of the pipeline (its sources: left, or top).
 */
function startView(layout: DrawnLayout, size: { width: number; height: number }): View {
  const fit = fitView(layout, size);
  if (fit.k >= READABLE_SCALE) return fit;
  const k = START_SCALE;
  const nodes = [...layout.nodes.values()];
  if (nodes.length === 0) return fit;
  if (layout.direction === "LR") {
    const first = nodes.reduce((best, node) => node.x < best.x ? node : best);
    return { k, x: 16 - first.x * k, y: size.height / 2 - (first.y + first.height / 2) * k };
  }
  const first = nodes.reduce((best, node) => node.y < best.y ? node : best);
  return { k, x: size.width / 2 - (first.x + first.width / 2) * k, y: 16 - first.y * k };
}

interface StageBoxProps {
  readonly name: string;
  readonly label: string;
  readonly box: PlacedNode;
  readonly state: StageState | undefined;
  readonly selected: boolean;
  readonly dimmed: boolean;
}

/** Variant boxes and edges: drawn again only for a new layout or selection. */
const Edges = pure(function Edges(props: {
  readonly layout: DrawnLayout;
  readonly related: ReadonlySet<string>;
}): JSX.Element {
  const { layout, related } = props;
  return (
    <>
      {layout.groups.map((group) => (
        <g key={group.id} class="group" data-group={group.label}>
          <rect x={group.x} y={group.y} width={group.width} height={group.height} rx="10" />
          <text x={group.x + 10} y={group.y + 17}>{group.label}</text>
        </g>
      ))}
      {layout.edges.map((edge) => (
        <path
          key={`${edge.from}\u0000${edge.to}`}
          class={`edge${related.has(`${edge.from}\u0000${edge.to}`) ? " edge-related" : ""}`}
          d={edgePath(edge.points)}
          marker-end="url(#arrow)"
        />
      ))}
    </>
  );
});

/** One stage node; a running one ticks its elapsed time. */
const StageBox = pure(function StageBox(props: StageBoxProps): JSX.Element {
  const { name, label, box, state, selected, dimmed } = props;
  const status = state?.status ?? "checking";
  const now = useNow(status === "running");
  return (
    <div
      class={`node status-${status}${selected ? " selected" : ""}${dimmed ? " dimmed" : ""}${
        state?.queued ? " queued" : ""
      }`}
      data-stage={name}
      data-status={status}
      title={`${name}: ${STATUS_LABEL[status]}${
        state?.reasons.length ? ` (${state.reasons.join(", ")})` : ""
      }`}
      style={{
        left: `${box.x}px`,
        top: `${box.y}px`,
        width: `${box.width}px`,
        height: `${box.height}px`,
      }}
    >
      <span class="node-name">{label}</span>
      <span class="node-detail">
        <span class="dot" />
        {detailOf(state, now)}
      </span>
    </div>
  );
});

/** The second line of a node. */
function detailOf(state: StageState | undefined, now: number): string {
  if (!state) return "checking";
  switch (state.status) {
    case "running":
      return `running ${duration(Math.max(0, now - (state.started ?? now)))}`;
    case "will-run":
      return state.reasons.length > 0 ? `will run · ${state.reasons.join(", ")}` : "will run";
    case "ran":
    case "failed":
    case "restored":
      return state.duration_ms !== undefined
        ? `${STATUS_LABEL[state.status]} · ${duration(state.duration_ms)}`
        : STATUS_LABEL[state.status];
    default:
      return STATUS_LABEL[state.status];
  }
}

interface MinimapProps {
  readonly layout: DrawnLayout;
  readonly states: Readonly<Record<string, StageState>>;
  readonly view: View;
  readonly size: { width: number; height: number };
  readonly onMove: (view: View) => void;
}

/** The overview: every node as a coloured dot, the visible part as a frame; click to go there. */
function Minimap(props: MinimapProps): JSX.Element | null {
  const { layout, states, view, size, onMove } = props;
  const fits = layout.width * view.k <= size.width && layout.height * view.k <= size.height;
  if (fits) return null;
  // One scale both ways, unless the graph is so long and thin that the
  // minimap would be a line: then its short side is stretched.
  const m = Math.min(MINIMAP_WIDTH / layout.width, MINIMAP_HEIGHT / layout.height);
  const mx = Math.max(m, Math.min(MINIMAP_MIN, MINIMAP_WIDTH) / layout.width);
  const my = Math.max(m, Math.min(MINIMAP_MIN, MINIMAP_HEIGHT) / layout.height);
  const width = layout.width * mx;
  const height = layout.height * my;
  const moveTo = (event: PointerEvent) => {
    if (event.buttons !== 1 && event.type !== "pointerdown") return;
    const box = (event.currentTarget as Element).getBoundingClientRect();
    const gx = (event.clientX - box.left) / mx;
    const gy = (event.clientY - box.top) / my;
    onMove({ k: view.k, x: size.width / 2 - gx * view.k, y: size.height / 2 - gy * view.k });
  };
  return (
    <svg
      class="minimap"
      width={width}
      height={height}
      onPointerDown={moveTo}
      onPointerMove={moveTo}
    >
      {[...layout.nodes.values()].map((node) => (
        <MiniNode
          key={node.name}
          node={node}
          status={states[node.name]?.status ?? "checking"}
          mx={mx}
          my={my}
        />
      ))}
      <rect
        class="minimap-view"
        x={(-view.x / view.k) * mx}
        y={(-view.y / view.k) * my}
        width={(size.width / view.k) * mx}
        height={(size.height / view.k) * my}
      />
    </svg>
  );
}

/** A node of the minimap. */
const MiniNode = pure(function MiniNode(props: {
  readonly node: PlacedNode;
  readonly status: string;
  readonly mx: number;
  readonly my: number;
}): JSX.Element {
  const { node, status, mx, my } = props;
  return (
    <rect
      class={`mini status-${status}`}
      x={node.x * mx}
      y={node.y * my}
      width={Math.max(node.width * mx, 2)}
      height={Math.max(node.height * my, 2)}
    />
  );
});
