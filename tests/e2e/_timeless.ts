/**
 * Output of two `pivot` runs made comparable: what differs by when and how
 * fast they ran is blanked.
 *
 * @module
 */

/**
 * `text` with run ids, durations, start and end times blanked. Run ids go
 * first: an id's random tail may read as a duration (`…-12ms`), which would
 * leave a different id behind in each run.
 */
export function timeless(text: string): string {
  return text
    .replace(/\b[a-z0-9]{8}-[a-z0-9]{4}\b/g, "ID")
    .replace(/"(duration_ms|started|ended|started_at|ended_at)":\s*("[^"]*"|\d+)/g, '"$1":0')
    .replace(/\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(\.\d+)?Z?/g, "DATE")
    .replace(/\b\d+(\.\d+)?m?s\b/g, "T");
}
