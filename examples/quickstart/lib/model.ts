/** Token → log-odds weight. */
export type Weights = Record<string, number>;

/** Sum of the weights of the tokens (positive: a positive review). */
export function score(weights: Weights, tokens: readonly string[]): number {
  return tokens.reduce((sum, token) => sum + (weights[token] ?? 0), 0);
}
