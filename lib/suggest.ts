/**
 * "Did you mean …?" for typos in command names, stage names, YAML keys and param keys.
 *
 * @module
 */

/**
 * The candidate closest to `word`, if it is close enough to be a likely typo:
 * one edit for words of up to five letters, a third of the length for longer
 * ones, and only a difference of case for words of one or two letters.
 * Swapping two adjacent letters counts as one edit (`trian` → `train`).
 *
 * @example
 * ```ts
 * closestMatch("trian", ["train", "test"]); // "train"
 * closestMatch("zzz", ["train"]); // undefined
 * ```
 */
export function closestMatch(word: string, candidates: Iterable<string>): string | undefined {
  // A one- or two-letter word is one edit from too many things: only a case slip counts.
  const limit = word.length <= 2 ? 0 : Math.max(1, Math.floor(word.length / 3));
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (distance <= limit && distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** `: did you mean 'x'?` or "" — ready to append to a message. */
export function didYouMean(word: string, candidates: Iterable<string>, quote = "'"): string {
  const match = closestMatch(word, candidates);
  return match === undefined ? "" : `: did you mean ${quote}${match}${quote}?`;
}

/** Optimal string alignment distance: Levenshtein plus adjacent transpositions. */
function editDistance(a: string, b: string): number {
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    rows.push([i]);
    for (let j = 1; j <= b.length; j++) {
      if (i === 0) {
        rows[i].push(j);
        continue;
      }
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let distance = Math.min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        distance = Math.min(distance, rows[i - 2][j - 2] + 1);
      }
      rows[i].push(distance);
    }
  }
  return rows[a.length][b.length];
}
