/**
 * Sinks that show engine events: for people (aligned lines, colours and a
 * live status line on a terminal) and for programs (JSON Lines, SPEC §6).
 *
 * @module
 */

import type { EngineEvent, EventSink, StageStatus } from "../engine/events.ts";
import type { Colour, Output } from "./output.ts";

const STYLE: Record<StageStatus, { label: string; colour: Colour }> = {
  ran: { label: "ran", colour: "green" },
  skipped: { label: "skipped", colour: "dim" },
  restored: { label: "restored", colour: "cyan" },
  failed: { label: "FAILED", colour: "red" },
  blocked: { label: "blocked", colour: "yellow" },
  cancelled: { label: "cancelled", colour: "yellow" },
};

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(2)}s`;
}

/**
 * Human output: one line per stage that did something (skipped stages only
 * with `-v`), stage console output prefixed with the stage name, a summary
 * line, and on a terminal a status line of what is running.
 */
export function consoleSink(output: Output): EventSink {
  const running = new Set<string>();
  let total = 0;
  let done = 0;
  const drawStatus = () => {
    if (running.size === 0) return output.clearStatus();
    const names = [...running].slice(0, 4).join(", ") + (running.size > 4 ? ", …" : "");
    output.status(`[${done}/${total}] running ${names}`);
  };
  return (event: EngineEvent) => {
    switch (event.type) {
      case "wave-start":
        total = event.stages.length;
        done = 0;
        running.clear();
        break;
      case "stage-start":
        running.add(event.stage);
        drawStatus();
        break;
      case "log": {
        const line = `${output.paint("dim", `[${event.stage}]`)} ${event.text}`;
        if (event.stream === "stderr") output.error(line);
        else if (!output.quiet) output.line(line);
        break;
      }
      case "warning":
        output.error(`${output.paint("yellow", "warning", "stderr")}: ${event.message}`);
        break;
      case "stage": {
        running.delete(event.stage);
        done++;
        const style = STYLE[event.status];
        const show = event.status === "failed" || (!output.quiet &&
          (event.status !== "skipped" || output.verbose));
        if (show) {
          const label = output.paint(style.colour, style.label.padEnd(9));
          const detail = event.status === "failed"
            ? `: ${event.error ?? event.reason}`
            : event.status === "ran"
            ? `  ${output.paint("dim", seconds(event.duration_ms))}`
            : event.status === "skipped"
            ? ""
            : `  ${output.paint("dim", event.reason)}`;
          const text = `${label} ${event.stage}${detail}`;
          if (event.status === "failed") output.error(text);
          else output.line(text);
        }
        if (output.verbose) {
          if (event.stack !== undefined) output.error(output.paint("dim", event.stack, "stderr"));
          for (const left of event.leftovers ?? []) {
            output.error(
              output.paint(
                "dim",
                `  ${event.stage} left ${left}; its worker was replaced`,
                "stderr",
              ),
            );
          }
        }
        drawStatus();
        break;
      }
      case "summary": {
        output.clearStatus();
        if (output.quiet) break;
        const total = event.ran + event.skipped + event.restored + event.failed + event.blocked +
          event.cancelled;
        if (total > 0 && event.skipped === total) {
          output.line(`Everything is up to date (${total} stage${total === 1 ? "" : "s"}).`);
          break;
        }
        const parts = [
          `${event.ran} ran`,
          `${event.skipped} skipped`,
          `${event.restored} restored`,
          `${event.failed} failed`,
          `${event.blocked} blocked`,
          ...(event.cancelled > 0 ? [`${event.cancelled} cancelled`] : []),
        ];
        output.line(`${parts.join(", ")} in ${seconds(event.duration_ms)}`);
        break;
      }
    }
  };
}

/**
 * JSON Lines on stdout: `stage` and `summary` events (SPEC §6). Stage console
 * output and warnings go to stderr so stdout stays parseable.
 */
export function jsonSink(output: Output): EventSink {
  return (event: EngineEvent) => {
    switch (event.type) {
      case "stage":
      case "summary":
        output.raw(JSON.stringify(event) + "\n");
        break;
      case "log":
        output.error(`[${event.stage}] ${event.text}`);
        break;
      case "warning":
        output.error(`warning: ${event.message}`);
        break;
    }
  };
}
