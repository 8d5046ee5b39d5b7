import { WaveSchedule } from "../../lib/engine/schedule.ts";
import { ReportOrder } from "../../lib/engine/report_order.ts";
import { buildGraph } from "../../lib/graph/graph.ts";
import type { StageDef } from "../../lib/model/stage_def.ts";
import { assertEquals } from "../_assert.ts";
import { test } from "../_harness.ts";
import { existing, stage } from "../graph/_stages.ts";

// prep -> {left, right} -> join; solo stands apart.
const STAGES = [
  stage({ name: "prep", deps: ["raw.txt"], outs: ["prep.txt"] }),
  stage({ name: "left", deps: ["prep.txt"], outs: ["left.txt"] }),
  stage({ name: "right", deps: ["prep.txt"], outs: ["right.txt"] }),
  stage({ name: "join", deps: ["left.txt", "right.txt"], outs: ["join.txt"] }),
  stage({ name: "solo", deps: ["raw.txt"], outs: ["solo.txt"] }),
];
const GRAPH = buildGraph(STAGES, existing("raw.txt"));

function names(stages: readonly StageDef[]): string[] {
  return stages.map((s) => s.name);
}

/** Take every ready stage, in order. */
function drain(schedule: WaveSchedule): string[] {
  const taken: string[] = [];
  while (schedule.hasReady) taken.push(schedule.take()!.name);
  return taken;
}

test("stages with no upstream in the wave are ready at once, in pipeline order", () => {
  const schedule = new WaveSchedule(GRAPH.order, GRAPH);
  assertEquals(drain(schedule), ["prep", "solo"]);
});

test("a stage is ready only when its last upstream stage has ended", () => {
  const schedule = new WaveSchedule(GRAPH.order, GRAPH);
  drain(schedule);
  assertEquals(schedule.end(GRAPH.byName.get("prep")!, false), []);
  assertEquals(drain(schedule), ["left", "right"]);
  schedule.end(GRAPH.byName.get("right")!, false);
  assertEquals(drain(schedule), []);
  schedule.end(GRAPH.byName.get("left")!, false);
  assertEquals(drain(schedule), ["join"]);
});

test("stages that become ready together start in pipeline order, whatever ended first", () => {
  const schedule = new WaveSchedule(GRAPH.order, GRAPH);
  drain(schedule);
  schedule.end(GRAPH.byName.get("solo")!, false);
  schedule.end(GRAPH.byName.get("prep")!, false);
  assertEquals(drain(schedule), ["left", "right"]);
});

test("upstream stages outside the wave are not waited for", () => {
  const wave = STAGES.filter((s) => s.name === "left" || s.name === "join");
  const schedule = new WaveSchedule(wave, GRAPH);
  assertEquals(drain(schedule), ["left"]);
  schedule.end(GRAPH.byName.get("left")!, false);
  assertEquals(drain(schedule), ["join"]);
});

test("a failure blocks everything below it, depth first, naming the stage above", () => {
  const schedule = new WaveSchedule(GRAPH.order, GRAPH);
  drain(schedule);
  const blocked = schedule.end(GRAPH.byName.get("prep")!, true);
  assertEquals(blocked.map((b) => [b.stage.name, b.by]), [
    ["left", "prep"],
    ["join", "left"],
    ["right", "prep"],
  ]);
  assertEquals(names(blocked.map((b) => b.stage)).includes("solo"), false);
  assertEquals(drain(schedule), []);
});

test("a stage below a failure by two paths is blocked once", () => {
  // prep -> left -> join, and prep -> join directly.
  const stages = [
    stage({ name: "prep", deps: ["raw.txt"], outs: ["prep.txt"] }),
    stage({ name: "left", deps: ["prep.txt"], outs: ["left.txt"] }),
    stage({ name: "join", deps: ["prep.txt", "left.txt"], outs: ["join.txt"] }),
  ];
  const graph = buildGraph(stages, existing("raw.txt"));
  const schedule = new WaveSchedule(graph.order, graph);
  drain(schedule);
  const blocked = schedule.end(graph.byName.get("prep")!, true);
  assertEquals(blocked.map((b) => [b.stage.name, b.by]), [["left", "prep"], ["join", "left"]]);
});

test("a released stage lets the stages below it start before it ends, and its end counts once", () => {
  const schedule = new WaveSchedule(GRAPH.order, GRAPH);
  drain(schedule);
  schedule.release(GRAPH.byName.get("prep")!);
  assertEquals(drain(schedule), ["left", "right"]);
  // Releasing again, then ending, makes nothing ready twice.
  schedule.release(GRAPH.byName.get("prep")!);
  assertEquals(schedule.end(GRAPH.byName.get("prep")!, false), []);
  assertEquals(drain(schedule), []);
  schedule.end(GRAPH.byName.get("left")!, false);
  assertEquals(drain(schedule), []);
  schedule.release(GRAPH.byName.get("right")!);
  assertEquals(drain(schedule), ["join"]);
  assertEquals(schedule.unfinished, 3); // right (released, not ended), join, solo
});

test("a released stage that fails blocks what below it has not started, not what has", () => {
  const schedule = new WaveSchedule(GRAPH.order, GRAPH);
  drain(schedule);
  schedule.release(GRAPH.byName.get("prep")!);
  // `left` started; `right` is still in the ready queue.
  assertEquals(schedule.take()!.name, "left");
  const blocked = schedule.end(GRAPH.byName.get("prep")!, true);
  // `join` is below the started `left` too, and below `prep`: blocked, by
  // `prep` (`left` itself completes).
  assertEquals(blocked.map((b) => [b.stage.name, b.by]), [["join", "prep"], ["right", "prep"]]);
  assertEquals(schedule.hasReady, false);
  // `left` reports its own end; nothing is left to make ready.
  assertEquals(schedule.end(GRAPH.byName.get("left")!, false), []);
  assertEquals(drain(schedule), []);
  assertEquals(schedule.unfinished, 1); // solo
});

test("a stage released and blocked is never made ready by its other upstream", () => {
  const schedule = new WaveSchedule(GRAPH.order, GRAPH);
  drain(schedule);
  schedule.end(GRAPH.byName.get("prep")!, false);
  assertEquals(drain(schedule), ["left", "right"]);
  schedule.release(GRAPH.byName.get("left")!);
  const blocked = schedule.end(GRAPH.byName.get("left")!, true);
  assertEquals(names(blocked.map((b) => b.stage)), ["join"]);
  schedule.release(GRAPH.byName.get("right")!);
  schedule.end(GRAPH.byName.get("right")!, false);
  assertEquals(drain(schedule), []);
});

test("a stage's event waits for those of its upstream stages in the wave, then follows at once", () => {
  const order = new ReportOrder(GRAPH.order, GRAPH);
  const emitted: string[] = [];
  const report = (name: string) => order.report(name, () => emitted.push(name));
  // `left` ended while `prep` was still writing its lock file; `join` after it.
  report("left");
  report("solo");
  assertEquals([emitted, order.held], [["solo"], 1]);
  report("prep");
  assertEquals(emitted, ["solo", "prep", "left"]);
  report("join");
  assertEquals([emitted, order.held], [["solo", "prep", "left"], 1]);
  report("right");
  assertEquals([emitted, order.held], [["solo", "prep", "left", "right", "join"], 0]);
});

test("upstream stages outside the wave are not waited for by its events", () => {
  const wave = STAGES.filter((s) => s.name === "left" || s.name === "join");
  const order = new ReportOrder(wave, GRAPH);
  const emitted: string[] = [];
  order.report("join", () => emitted.push("join"));
  assertEquals(emitted, []);
  order.report("left", () => emitted.push("left"));
  assertEquals(emitted, ["left", "join"]);
});
