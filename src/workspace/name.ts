import { errors } from '../errors.ts';

/**
 * The one rule for workspace names, used by the HTTP header, the CLI, directory discovery
 * and the PostgreSQL `workspace` column alike. A name must be a safe directory name on
 * every file system and a plain SQL value, so it is limited to ASCII letters, digits, "_"
 * and "-" (LightRAG's API server allows only [A-Za-z0-9_]; "-" is kept because customer
 * project slugs use it and it is harmless in both places).
 */
export const DEFAULT_WORKSPACE = 'default';

const NAME_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_-]{0,63}$/;

export type NameCheck = { ok: true; name: string } | { ok: false; reason: string };

export function checkWorkspaceName(raw: string): NameCheck {
  if (raw.length === 0) return { ok: true, name: DEFAULT_WORKSPACE };
  if (raw.length > 64) return { ok: false, reason: 'it is longer than 64 characters' };
  if (raw.startsWith('-')) return { ok: false, reason: 'it starts with "-"' };
  if (!NAME_PATTERN.test(raw)) {
    return { ok: false, reason: 'it contains characters other than A-Z, a-z, 0-9, "_", "-"' };
  }
  return { ok: true, name: raw };
}

/** Validates a name and throws the standard error; an empty name means the default. */
export function workspaceName(raw: string): string {
  const check = checkWorkspaceName(raw);
  if (!check.ok) throw errors.workspaceNameInvalid(raw, check.reason);
  return check.name;
}
