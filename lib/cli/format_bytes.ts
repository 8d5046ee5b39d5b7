/**
 * Sizes for people: `512 B`, `1.5 KiB`, `12.3 MiB` (1024-based units).
 *
 * @module
 */

/**
 * `bytes` in the largest unit that keeps the number at 1 or more.
 *
 * @example
 * ```ts
 * formatBytes(1536); // "1.5 KiB"
 * ```
 */
export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}
