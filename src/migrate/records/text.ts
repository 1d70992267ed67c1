import { silentLogger } from '../../log.ts';
import { TextPolicy } from '../../storage/postgres/text.ts';

/**
 * The backend's text policy (NUL and lone surrogates become U+FFFD) applied without
 * recording anything: for building the canonical form of a value that was already checked
 * and reported once.
 */
const scratch = new TextPolicy('', silentLogger);

export function storedText(value: string): string {
  const result = scratch.text(value, '', '', '');
  scratch.notices.length = 0;
  return result;
}

/** A fresh policy for one pass over a workspace; its notices are read by the caller. */
export function newPolicy(workspace: string): TextPolicy {
  return new TextPolicy(workspace, silentLogger);
}
