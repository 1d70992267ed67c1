import { compareCodePoints } from './ids.ts';

/**
 * Label queries shared by every backend, ranked as LightRAG's NetworkXStorage ranks them,
 * except that ties are always broken by name (code point order), so every backend
 * answers the same whatever order it stores nodes in.
 */
export interface ScoredLabel {
  name: string;
  score: number;
}

/**
 * LightRAG's search score of one name for an already lower-cased, trimmed query, or
 * undefined when the name does not contain it: exact 1000, prefix 500, otherwise
 * 100 - length (in code points) plus 50 when the query follows a space or "_".
 */
export function labelSearchScore(name: string, query: string): number | undefined {
  const lowered = name.toLowerCase();
  if (!lowered.includes(query)) return undefined;
  if (lowered === query) return 1000;
  if (lowered.startsWith(query)) return 500;
  const wordStart = lowered.includes(' ' + query) || lowered.includes('_' + query);
  return 100 - [...name].length + (wordStart ? 50 : 0);
}

export function compareScored(a: ScoredLabel, b: ScoredLabel): number {
  return b.score - a.score || compareCodePoints(a.name, b.name);
}

/** Case-insensitive substring search; an empty query matches nothing. */
export function searchLabels(names: Iterable<string>, query: string, limit: number): string[] {
  const needle = query.trim().toLowerCase();
  if (needle === '' || limit <= 0) return [];
  const matches: ScoredLabel[] = [];
  for (const name of names) {
    const score = labelSearchScore(name, needle);
    if (score !== undefined) matches.push({ name, score });
  }
  return matches
    .sort(compareScored)
    .slice(0, limit)
    .map((m) => m.name);
}

/** Names by degree, highest first, ties by name. */
export function rankByDegree(degrees: Iterable<[string, number]>, limit: number): string[] {
  const scored: ScoredLabel[] = [];
  for (const [name, score] of degrees) scored.push({ name, score });
  return scored
    .sort(compareScored)
    .slice(0, Math.max(0, limit))
    .map((s) => s.name);
}
