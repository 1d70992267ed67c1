import { postgresErrors } from '../../errors.ts';
import type { Logger } from '../../log.ts';

/**
 * The one text policy for PostgreSQL (known faults B05, B06). PostgreSQL refuses NUL in
 * TEXT and JSONB, and a lone UTF-16 surrogate would be turned into U+FFFD silently on its
 * way to UTF-8. So every string value, in columns and inside JSON alike (keys too), has
 * each NUL and each lone surrogate replaced by U+FFFD, and every replacement is reported:
 * logged, and kept on the writer so callers (the migration report) can list them.
 * Ids are never changed: an id holding either is refused, because lookups by the
 * original id would then miss.
 */
export const REPLACEMENT = '\uFFFD';

export type NoticeKind = 'nul_replaced' | 'surrogate_replaced' | 'field_not_stored';

export interface WriteNotice {
  workspace: string;
  store: string;
  record: string;
  field: string;
  kind: NoticeKind;
  /** Characters replaced; absent for field_not_stored. */
  count?: number;
}

// eslint-disable-next-line no-control-regex
const NUL = /\u0000/g;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

const SUSPECT_ESCAPE = /\\u(0000|d[89a-f])/i;

export function isStorableText(value: string): boolean {
  return !value.includes('\u0000') && value.isWellFormed();
}

const MAX_LOGGED_NOTICES = 100;

/** Collects the notices of one write and applies the policy to its values. */
export class TextPolicy {
  readonly notices: WriteNotice[] = [];
  private logged = 0;

  constructor(
    readonly workspace: string,
    private readonly log: Logger,
  ) {}

  /** Returns `value` with NUL and lone surrogates replaced, noting each kind found. */
  text(value: string, store: string, record: string, field: string): string {
    if (isStorableText(value)) return value;
    let result = value;
    const nuls = value.match(NUL)?.length ?? 0;
    if (nuls > 0) {
      result = result.replace(NUL, REPLACEMENT);
      this.note({ store, record, field, kind: 'nul_replaced', count: nuls });
    }
    if (!result.isWellFormed()) {
      const lone = result.match(LONE_SURROGATE)?.length ?? 0;
      result = result.toWellFormed();
      this.note({ store, record, field, kind: 'surrogate_replaced', count: lone });
    }
    return result;
  }

  /** A JSON value with every string (and key) passed through `text`. */
  json(value: unknown, store: string, record: string, field: string): unknown {
    if (typeof value === 'string') return this.text(value, store, record, field);
    if (Array.isArray(value)) {
      return value.map((item, i) => this.json(item, store, record, `${field}[${i}]`));
    }
    if (value === null || typeof value !== 'object') return value;
    const result: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      const safeKey = this.text(key, store, record, `${field} key`);
      result[safeKey] = this.json(item, store, record, `${field}.${safeKey}`);
    }
    return result;
  }

  /**
   * `json` as JSON text. JSON.stringify writes NUL and lone surrogates as \u escapes,
   * so text without such an escape is clean and is used as it is (the common case).
   */
  jsonText(value: unknown, store: string, record: string, field: string): string {
    const text = JSON.stringify(value);
    if (!SUSPECT_ESCAPE.test(text)) return text;
    return JSON.stringify(this.json(value, store, record, field));
  }

  /** Refuses an id PostgreSQL would reject or alter. */
  id(value: string, table: string, field = 'id'): string {
    if (isStorableText(value)) return value;
    const why = value.includes('\u0000')
      ? 'contains a NUL character, which PostgreSQL cannot store; ids are never altered'
      : 'contains a lone UTF-16 surrogate, which PostgreSQL would alter; ids are never altered';
    throw postgresErrors.valueRejected(this.workspace, table, printable(value), field, why);
  }

  dropped(store: string, record: string, field: string): void {
    this.note({ store, record, field, kind: 'field_not_stored' });
  }

  private note(notice: Omit<WriteNotice, 'workspace'>): void {
    const full = { workspace: this.workspace, ...notice };
    this.notices.push(full);
    if (this.logged++ < MAX_LOGGED_NOTICES) this.log.warn('postgres.' + notice.kind, full);
    else if (this.logged === MAX_LOGGED_NOTICES + 1) {
      this.log.warn('postgres.notices_truncated', { workspace: this.workspace });
    }
  }
}

/** An id as it can be shown in a message (NUL and lone surrogates made visible). */
export function printable(value: string): string {
  return value.replace(NUL, '\\u0000').toWellFormed();
}
