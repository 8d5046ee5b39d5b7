/**
 * How the page writes times, hashes, values and statuses.
 *
 * @module
 */

import type { NodeStatus } from "../protocol.ts";

/** `0.42s`, `12.3s`, `4m 05s`. */
export function duration(ms: number): string {
  if (ms < 10_000) return `${(ms / 1000).toFixed(2)}s`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.floor((ms % 60_000) / 1000);
  if (minutes < 60) return `${minutes}m ${String(seconds).padStart(2, "0")}s`;
  return `${Math.floor(minutes / 60)}h ${String(minutes % 60).padStart(2, "0")}m`;
}

/** `3 s ago`, `5 min ago`, or the time of day. */
export function ago(when: number, now: number): string {
  const seconds = Math.max(0, Math.round((now - when) / 1000));
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  return new Date(when).toLocaleString();
}

/** The first 8 hex digits of a hash, or `(none)`. */
export function shortHash(hash: string | null | undefined): string {
  return hash ? hash.slice(0, 8) : "(none)";
}

/** A param value as JSON, or `(none)`. */
export function value(v: unknown): string {
  return v === null || v === undefined ? "(none)" : JSON.stringify(v);
}

/** How each status is named on the page. */
export const STATUS_LABEL: Record<NodeStatus, string> = {
  checking: "checking",
  "up-to-date": "up to date",
  "will-run": "will run",
  running: "running",
  ran: "ran",
  restored: "restored",
  failed: "failed",
  blocked: "blocked",
  cancelled: "cancelled",
};

/** Statuses in the order the header counts them. */
export const STATUS_ORDER: readonly NodeStatus[] = [
  "running",
  "failed",
  "blocked",
  "cancelled",
  "will-run",
  "ran",
  "restored",
  "up-to-date",
  "checking",
];
