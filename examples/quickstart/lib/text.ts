/** Words worth counting: lower case, letters only, no stop words. */
export function tokenize(text: string): string[] {
  return text.toLowerCase().split(/[^a-z]+/).filter((word) => word.length > 1 && !STOP.has(word));
}

const STOP = new Set(["the", "and", "was", "it", "of", "to", "is", "this", "a"]);
