import {
  DOC_STATUS_TABLE,
  ENTITIES_TABLE,
  KV_TABLES,
  RELATIONS_TABLE,
  WORKSPACES_TABLE,
} from './tables.ts';

/**
 * The SQL of the workspace statistics (see stats.ts for the design): three tables, the
 * trigger functions that keep them, and the functions that attach, recount and detach.
 * Everything here runs inside PostgreSQL, so the statistics stay right whoever writes the
 * tables: ragspace, a Python LightRAG server, or a person with psql.
 *
 * The functions are SECURITY DEFINER with a fixed search_path: a trigger runs as the role
 * that writes the table (LightRAG's, say), which need not be allowed to write ragspace's
 * statistics tables, and a caller's search_path must not redirect the names used here.
 */
export const STATS_TABLE = 'ragspace_workspace_stats';
export const PENDING_TABLE = 'ragspace_stats_pending';
export const SOURCES_TABLE = 'ragspace_stats_sources';
/** Bumped whenever a function body changes, so start-up replaces the old ones. */
export const STATS_VERSION = 'ragspace-stats 6';

/** The kept counters, in code order (code = index + 1, the value stored in `pending`). */
export const COUNTERS = [
  'entity_count',
  'relation_count',
  'doc_status_count',
  'full_docs_count',
  'chunk_count',
  'other_rows',
] as const;
export type Counter = (typeof COUNTERS)[number];

/** Tables feeding a counter of their own; every other source table feeds other_rows. */
export const TABLE_COUNTERS: Record<string, Counter> = {
  [ENTITIES_TABLE]: 'entity_count',
  [RELATIONS_TABLE]: 'relation_count',
  [DOC_STATUS_TABLE]: 'doc_status_count',
  [KV_TABLES.full_docs]: 'full_docs_count',
  [KV_TABLES.text_chunks]: 'chunk_count',
};

export const counterCode = (counter: Counter): number => COUNTERS.indexOf(counter) + 1;

/** The stamp columns a source table may have; `none` when it has neither. */
export const STAMPS = ['updated_at', 'update_time', 'none'] as const;

/** ragspace's own tables that are sources; LightRAG's are every `lightrag_*` table. */
const RAGSPACE_SOURCES = [ENTITIES_TABLE, RELATIONS_TABLE, WORKSPACES_TABLE];

/** A workspace row is deleted when every counter is zero: no table holds a row of it. */
export function emptyCondition(alias = ''): string {
  return COUNTERS.map((c) => `${alias}${c} = 0`).join(' AND ');
}

export function quoteIdent(name: string): string {
  return '"' + name.replace(/"/g, '""') + '"';
}

const quoteLiteral = (text: string) => "'" + text.replace(/'/g, "''") + "'";

/**
 * Whether ragspace can serve the name (src/workspace/name.ts: 1-64 of A-Z a-z 0-9 _ -,
 * not starting with "-"). Stored, because a regex per row and request costs more than
 * the rest of the list; written without `{0,63}`, which PostgreSQL's regex engine makes
 * about five times slower.
 */
export const LISTED_COLUMN = `listed BOOLEAN GENERATED ALWAYS AS
    (workspace ~ '^[A-Za-z0-9_][A-Za-z0-9_-]*$' AND length(workspace) <= 64) STORED`;

/** Zero-padded text of a number, and of a field of updated_at: immutable, unlike to_char. */
const padded = (value: string, width: number) => `lpad(floor(${value})::int::text, ${width}, '0')`;
const part = (name: string, width: number) => padded(`extract(${name} FROM updated_at)`, width);

/**
 * `updated_at` as the list shows it (ISO-8601 UTC with milliseconds, as the file backend
 * writes it), stored when the row changes: formatting 10,000 times per request was 40 %
 * of the full list's time in the server. Built from `extract`, as a stored generated
 * column needs immutable functions and to_char is not (nor does it depend on DateStyle).
 */
export const UPDATED_ISO_COLUMN = `updated_iso TEXT GENERATED ALWAYS AS (
    ${part('year', 4)} || '-' || ${part('month', 2)} || '-' || ${part('day', 2)} || 'T' ||
    ${part('hour', 2)} || ':' || ${part('minute', 2)} || ':' || ${part('second', 2)} || '.' ||
    ${padded('extract(milliseconds FROM updated_at) % 1000', 3)} || 'Z') STORED`;

/** Columns added after a table's first release: [table, column, definition]. */
export const LATE_COLUMNS: [string, string, string][] = [
  [STATS_TABLE, 'listed', LISTED_COLUMN],
  [STATS_TABLE, 'updated_iso', UPDATED_ISO_COLUMN],
  [PENDING_TABLE, 'first', 'first BOOLEAN NOT NULL DEFAULT false'],
];

export function tablesSql(): string[] {
  const counters = COUNTERS.map((c) => `${c} BIGINT NOT NULL DEFAULT 0`).join(',\n  ');
  return [
    // fillfactor leaves room in each page, so the frequent counter updates stay HOT
    // (no index touches); the only index is the key.
    `CREATE TABLE IF NOT EXISTS ${STATS_TABLE} (
  workspace TEXT COLLATE "C" NOT NULL,
  ${counters},
  document_count BIGINT GENERATED ALWAYS AS
    (CASE WHEN doc_status_count > 0 THEN doc_status_count ELSE full_docs_count END) STORED,
  ${LISTED_COLUMN},
  updated_at TIMESTAMP(3),
  ${UPDATED_ISO_COLUMN},
  CONSTRAINT ${STATS_TABLE}_pk PRIMARY KEY (workspace)
) WITH (fillfactor = 80)`,
    // Unlogged: rows live only until their own transaction commits, so there is nothing
    // to recover after a crash, and they cost no WAL.
    `CREATE UNLOGGED TABLE IF NOT EXISTS ${PENDING_TABLE} (
  txid BIGINT NOT NULL,
  workspace TEXT NOT NULL,
  counter SMALLINT NOT NULL,
  delta BIGINT NOT NULL,
  stamp TIMESTAMP,
  first BOOLEAN NOT NULL DEFAULT false
)`,
    `CREATE INDEX IF NOT EXISTS idx_${PENDING_TABLE}_txid ON ${PENDING_TABLE} (txid)`,
    `CREATE TABLE IF NOT EXISTS ${SOURCES_TABLE} (
  schema_name TEXT NOT NULL,
  table_name TEXT NOT NULL,
  counter SMALLINT NOT NULL,
  stamp TEXT,
  CONSTRAINT ${SOURCES_TABLE}_pk PRIMARY KEY (schema_name, table_name)
)`,
  ];
}

type Language = 'plpgsql';

interface FunctionDef {
  name: string;
  args: string;
  returns: string;
  body: string;
  language?: Language;
}

function createFunction(def: FunctionDef, schema: string): string {
  return `CREATE OR REPLACE FUNCTION ${def.name}(${def.args}) RETURNS ${def.returns}
LANGUAGE ${def.language ?? 'plpgsql'} SECURITY DEFINER
SET search_path = pg_catalog, ${quoteIdent(schema)}, pg_temp
AS $ragspace$
${def.body}
$ragspace$`;
}

const NOW_UTC = "timezone('UTC', now())";

function stampExpression(stamp: (typeof STAMPS)[number]): string {
  return stamp === 'none' ? 'NULL::timestamp' : stamp;
}

/**
 * A statement trigger's body: its deltas (`select` yields workspace, delta, stamp) go to
 * the pending table. The rows of the transaction's first such statement are marked
 * `first`, which queues the deferred event applying them all at commit (one per workspace
 * of that statement; all but one find nothing left to do); the transaction-local setting
 * `ragspace.stats_txid` remembers that it is queued (both vanish together if a
 * subtransaction rolls back, and a flush clears the setting, so nothing is left behind).
 */
function pendingBody(select: string, skipWhenEmpty?: string): string {
  // An upsert that only inserted still fires the UPDATE trigger, and a DELETE that found
  // nothing the DELETE trigger: a glance at the transition table is cheaper than the query.
  const skip = skipWhenEmpty
    ? `  PERFORM 1 FROM ${skipWhenEmpty} LIMIT 1;
  IF NOT FOUND THEN RETURN NULL; END IF;
`
    : '';
  return `DECLARE
  k smallint := TG_ARGV[0];
  tx bigint := txid_current();
  mark boolean := current_setting('ragspace.stats_txid', true) IS DISTINCT FROM tx::text;
  n bigint;
BEGIN
${skip}  -- Set before the insert: under SET CONSTRAINTS IMMEDIATE the event fires inside it,
  -- and its flush must be what clears the setting.
  IF mark THEN PERFORM set_config('ragspace.stats_txid', tx::text, true); END IF;
  INSERT INTO ${PENDING_TABLE} (txid, workspace, counter, delta, stamp, first)
  SELECT tx, workspace, k, delta, stamp, mark FROM (${select}) d;
  GET DIAGNOSTICS n = ROW_COUNT;
  -- Nothing inserted, so no event queued: the next statement must mark again.
  IF n = 0 AND mark THEN PERFORM set_config('ragspace.stats_txid', '', true); END IF;
  RETURN NULL;
END`;
}

/** AFTER INSERT, per statement: one pending row per workspace with its rows and newest stamp. */
function insertFunction(stamp: (typeof STAMPS)[number]): FunctionDef {
  return {
    name: `ragspace_stats_ins_${stamp}`,
    args: '',
    returns: 'trigger',
    body: pendingBody(`SELECT workspace, count(*) AS delta, max(${stampExpression(stamp)}) AS stamp
      FROM ragspace_new WHERE workspace IS NOT NULL GROUP BY workspace`),
  };
}

/**
 * AFTER UPDATE: rows moved between workspaces change counts; new stamps may be newer. A
 * workspace rows left is dated by the transaction, as for a deletion.
 */
function updateFunction(stamp: (typeof STAMPS)[number]): FunctionDef {
  return {
    name: `ragspace_stats_upd_${stamp}`,
    args: '',
    returns: 'trigger',
    body: pendingBody(
      `SELECT workspace, sum(d) AS delta,
             CASE WHEN sum(d) < 0 THEN GREATEST(max(st), ${NOW_UTC}) ELSE max(st) END AS stamp
        FROM (SELECT workspace, 1 AS d, ${stampExpression(stamp)} AS st FROM ragspace_new
              UNION ALL
              SELECT workspace, -1, NULL FROM ragspace_old) AS u
       WHERE workspace IS NOT NULL GROUP BY workspace
      HAVING sum(d) <> 0 OR max(st) IS NOT NULL`,
      'ragspace_new',
    ),
  };
}

/** AFTER DELETE: a deletion leaves no row to date it, so it is dated by its transaction. */
function deleteFunction(): FunctionDef {
  return {
    name: 'ragspace_stats_del',
    args: '',
    returns: 'trigger',
    body: pendingBody(
      `SELECT workspace, -count(*) AS delta, ${NOW_UTC} AS stamp
         FROM ragspace_old WHERE workspace IS NOT NULL GROUP BY workspace`,
      'ragspace_old',
    ),
  };
}

/** AFTER TRUNCATE has no transition table: recount the table's counter from the rest. */
function truncateFunction(): FunctionDef {
  return {
    name: 'ragspace_stats_truncate',
    args: '',
    returns: 'trigger',
    body: `BEGIN
  PERFORM ragspace_stats_flush(txid_current());
  PERFORM ragspace_stats_recount(TG_ARGV[0]::smallint);
  RETURN NULL;
END`,
  };
}

/** Adds one transaction's pending deltas to the statistics and forgets them. */
function flushFunction(): FunctionDef {
  const sums = COUNTERS.map(
    (c, i) => `COALESCE(sum(delta) FILTER (WHERE counter = ${i + 1}), 0) AS ${c}`,
  );
  const adds = COUNTERS.map((c) => `${c} = s.${c} + EXCLUDED.${c}`);
  return {
    name: 'ragspace_stats_flush',
    args: 'tx bigint',
    returns: 'void',
    // ORDER BY workspace: concurrent committers lock statistics rows in one order, so
    // two transactions writing the same workspaces cannot deadlock on them.
    body: `DECLARE emptied text[];
BEGIN
  WITH moved AS (
    DELETE FROM ${PENDING_TABLE} WHERE txid = tx RETURNING workspace, counter, delta, stamp
  ), agg AS (
    SELECT workspace, ${sums.join(',\n           ')},
           date_trunc('milliseconds', max(stamp)) AS updated_at
      FROM moved GROUP BY workspace
  ), up AS (
    INSERT INTO ${STATS_TABLE} AS s (workspace, ${COUNTERS.join(', ')}, updated_at)
    SELECT workspace, ${COUNTERS.join(', ')}, updated_at FROM agg ORDER BY workspace
    ON CONFLICT (workspace) DO UPDATE SET ${adds.join(',\n      ')},
      updated_at = GREATEST(s.updated_at, EXCLUDED.updated_at)
    RETURNING s.workspace, (${emptyCondition('s.')}) AS empty
  )
  SELECT array_agg(workspace) FILTER (WHERE empty) INTO emptied FROM up;
  IF emptied IS NOT NULL THEN
    DELETE FROM ${STATS_TABLE}
     WHERE workspace = ANY (emptied) AND ${emptyCondition()};
  END IF;
  -- Later statements of this transaction queue a new event (SET CONSTRAINTS IMMEDIATE).
  PERFORM set_config('ragspace.stats_txid', '', true);
END`,
  };
}

/** Deferred to commit: the statistics rows are locked only while the transaction commits. */
function commitFunction(): FunctionDef {
  return {
    name: 'ragspace_stats_commit',
    args: '',
    returns: 'trigger',
    body: `BEGIN
  PERFORM ragspace_stats_flush(NEW.txid);
  RETURN NULL;
END`,
  };
}

/** Recounts one counter for every workspace from its source tables (TRUNCATE, DROP). */
function recountFunction(): FunctionDef {
  const columns = COUNTERS.map(quoteLiteral).join(', ');
  return {
    name: 'ragspace_stats_recount',
    args: 'k smallint',
    returns: 'void',
    // The EXCLUSIVE lock holds back other transactions' commits (their flush needs the
    // rows), so the count sees exactly what the statistics will have counted.
    body: `DECLARE
  col text := (ARRAY[${columns}])[k];
  parts text;
BEGIN
  LOCK TABLE ${STATS_TABLE} IN EXCLUSIVE MODE;
  SELECT string_agg(format('SELECT workspace::text AS workspace, count(*) AS n FROM %I.%I
                             WHERE workspace IS NOT NULL GROUP BY 1', schema_name, table_name),
                    ' UNION ALL ')
    INTO parts FROM ${SOURCES_TABLE}
   WHERE counter = k AND to_regclass(format('%I.%I', schema_name, table_name)) IS NOT NULL;
  parts := COALESCE(parts, 'SELECT NULL::text AS workspace, 0::bigint AS n WHERE false');
  EXECUTE format($q$
    WITH f AS (SELECT workspace, sum(n)::bigint AS n FROM (%1$s) u GROUP BY workspace),
    x AS (SELECT COALESCE(s.workspace, f.workspace) AS workspace, COALESCE(f.n, 0) AS n
            FROM ${STATS_TABLE} s FULL JOIN f ON f.workspace = s.workspace
           WHERE s.%2$I IS DISTINCT FROM COALESCE(f.n, 0))
    INSERT INTO ${STATS_TABLE} AS s (workspace, %2$I, updated_at)
    SELECT workspace, n, date_trunc('milliseconds', ${NOW_UTC}) FROM x
    ON CONFLICT (workspace) DO UPDATE SET %2$I = EXCLUDED.%2$I,
      updated_at = GREATEST(s.updated_at, EXCLUDED.updated_at)$q$, parts, col);
  DELETE FROM ${STATS_TABLE} WHERE ${emptyCondition()};
END`,
  };
}

const TRIGGERS = {
  ins: (stamp: string) =>
    `AFTER INSERT ON %1$s REFERENCING NEW TABLE AS ragspace_new
     FOR EACH STATEMENT EXECUTE FUNCTION ragspace_stats_ins_${stamp}(%2$L)`,
  upd: (stamp: string) =>
    `AFTER UPDATE ON %1$s REFERENCING OLD TABLE AS ragspace_old NEW TABLE AS ragspace_new
     FOR EACH STATEMENT EXECUTE FUNCTION ragspace_stats_upd_${stamp}(%2$L)`,
  del: () =>
    `AFTER DELETE ON %1$s REFERENCING OLD TABLE AS ragspace_old
     FOR EACH STATEMENT EXECUTE FUNCTION ragspace_stats_del(%2$L)`,
  trunc: () =>
    `AFTER TRUNCATE ON %1$s
     FOR EACH STATEMENT EXECUTE FUNCTION ragspace_stats_truncate(%2$L)`,
};

export const TRIGGER_NAMES = Object.keys(TRIGGERS).map((t) => `ragspace_stats_${t}`);
const TRIGGER_ARRAY = `ARRAY[${TRIGGER_NAMES.map(quoteLiteral).join(', ')}]`;

/** One `IF NOT ... CREATE TRIGGER` per trigger; the stamp variant is chosen at run time. */
function createTriggers(): string {
  return Object.entries(TRIGGERS)
    .map(([kind, sql]) => {
      const stamp = `' || stamp_fn || '`;
      return `  IF NOT (${quoteLiteral(`ragspace_stats_${kind}`)} = ANY (present)) THEN
    EXECUTE format('CREATE TRIGGER ragspace_stats_${kind} ${sql(stamp).replace(/\s+/g, ' ')}',
                   q, k);
  END IF;`;
    })
    .join('\n');
}

function counterCase(): string {
  const known = Object.entries(TABLE_COUNTERS).map(
    ([table, counter]) => `WHEN ${quoteLiteral(table)} THEN ${counterCode(counter)}`,
  );
  return `CASE rel ${known.join(' ')} ELSE ${counterCode('other_rows')} END`;
}

/**
 * Attaches the four triggers to a table (idempotent). Under the table's SHARE ROW
 * EXCLUSIVE lock (which CREATE TRIGGER takes anyway), no write to it is in flight, so
 * counting its rows now (`backfill`) and the triggers counting from now on add up exactly.
 */
function attachFunction(): FunctionDef {
  return {
    name: 'ragspace_stats_attach',
    args: 'tbl oid, backfill boolean',
    returns: 'boolean',
    body: `DECLARE
  sch text; rel text; q text; k smallint; st text; stamp_fn text; present text[];
BEGIN
  SELECT n.nspname, c.relname INTO sch, rel
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = tbl;
  IF rel IS NULL THEN RETURN false; END IF;
  q := format('%I.%I', sch, rel);
  k := ${counterCase()};
  SELECT a.attname INTO st FROM pg_attribute a
   WHERE a.attrelid = tbl AND a.attname IN ('updated_at', 'update_time') AND NOT a.attisdropped
     AND a.atttypid = 'timestamp'::regtype
   ORDER BY a.attname = 'updated_at' DESC LIMIT 1;
  stamp_fn := COALESCE(st, 'none');
  EXECUTE format('LOCK TABLE %s IN SHARE ROW EXCLUSIVE MODE', q);
  INSERT INTO ${SOURCES_TABLE} (schema_name, table_name, counter, stamp) VALUES (sch, rel, k, st)
  ON CONFLICT (schema_name, table_name)
  DO UPDATE SET counter = EXCLUDED.counter, stamp = EXCLUDED.stamp;
  SELECT COALESCE(array_agg(tgname::text), '{}') INTO present FROM pg_trigger
   WHERE tgrelid = tbl AND tgname::text = ANY (${TRIGGER_ARRAY});
  IF cardinality(present) = ${TRIGGER_NAMES.length} THEN RETURN false; END IF;
${createTriggers()}
  IF cardinality(present) > 0 THEN
    -- Some triggers were missing, so some changes went uncounted: recount instead.
    PERFORM ragspace_stats_flush(txid_current());
    PERFORM ragspace_stats_recount(k);
  ELSIF backfill THEN
    -- Marked first, so it is applied at commit even when nothing else is pending.
    EXECUTE format('INSERT INTO ${PENDING_TABLE} (txid, workspace, counter, delta, stamp, first)
                    SELECT txid_current(), workspace, %s, count(*), max(%s),
                           row_number() OVER () = 1
                      FROM %s WHERE workspace IS NOT NULL GROUP BY workspace',
                   k, COALESCE(quote_ident(st), 'NULL::timestamp'), q);
  END IF;
  RETURN true;
END`,
  };
}

/** The tables whose rows make workspaces: ragspace's three, and LightRAG's `lightrag_*`. */
export function eligibleCondition(schema: string, alias = 'c'): string {
  const own = RAGSPACE_SOURCES.map(quoteLiteral).join(', ');
  return `${alias}.relkind = 'r' AND ${alias}.relpersistence <> 't'
    AND ${alias}.relnamespace = ${quoteLiteral(quoteIdent(schema))}::regnamespace
    AND (${alias}.relname IN (${own}) OR ${alias}.relname LIKE 'lightrag\\_%')
    AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = ${alias}.oid
                   AND a.attname = 'workspace' AND NOT a.attisdropped)`;
}

function eligibleFunction(schema: string): FunctionDef {
  return {
    name: 'ragspace_stats_eligible',
    args: 'tbl oid',
    returns: 'boolean',
    body: `BEGIN
  RETURN EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = tbl AND ${eligibleCondition(schema)});
END`,
  };
}

/**
 * Event trigger: a table created later (a new vector table for another embedding model,
 * say) is attached in the transaction that creates it. A failure here must never break
 * the other program's CREATE TABLE, so it becomes a warning; start-up attaches it later.
 */
function onDdlFunction(): FunctionDef {
  return {
    name: 'ragspace_stats_on_ddl',
    args: '',
    returns: 'event_trigger',
    body: `DECLARE r record;
BEGIN
  FOR r IN SELECT objid FROM pg_event_trigger_ddl_commands() WHERE object_type = 'table' LOOP
    IF ragspace_stats_eligible(r.objid) THEN
      PERFORM ragspace_stats_attach(r.objid, true);
    END IF;
  END LOOP;
EXCEPTION WHEN OTHERS THEN
  RAISE WARNING 'ragspace statistics: % (they are fixed at the next ragspace start-up)', SQLERRM;
END`,
  };
}

/**
 * Event trigger on DROP: a dropped source's rows leave the statistics (recount). Dropping
 * ragspace's statistics tables detaches every trigger, so no writer is left failing.
 */
function onDropFunction(schema: string): FunctionDef {
  const ours = [STATS_TABLE, PENDING_TABLE].map(quoteLiteral).join(', ');
  return {
    name: 'ragspace_stats_on_drop',
    args: '',
    returns: 'event_trigger',
    body: `DECLARE k smallint; ks smallint[]; ours boolean;
BEGIN
  SELECT bool_or(object_name IN (${ours})) INTO ours FROM pg_event_trigger_dropped_objects()
   WHERE object_type = 'table' AND schema_name = ${quoteLiteral(schema)};
  IF ours THEN
    PERFORM ragspace_stats_detach_all();
    RETURN;
  END IF;
  WITH gone AS (
    DELETE FROM ${SOURCES_TABLE} s USING pg_event_trigger_dropped_objects() d
     WHERE d.object_type = 'table' AND d.schema_name = s.schema_name
       AND d.object_name = s.table_name
    RETURNING s.counter
  ) SELECT array_agg(DISTINCT counter) INTO ks FROM gone;
  IF ks IS NULL THEN RETURN; END IF;
  PERFORM ragspace_stats_flush(txid_current());
  FOREACH k IN ARRAY ks LOOP PERFORM ragspace_stats_recount(k); END LOOP;
EXCEPTION WHEN OTHERS THEN
  RAISE WARNING 'ragspace statistics: % (run "ragspace stats --rebuild")', SQLERRM;
END`,
  };
}

function detachFunction(): FunctionDef {
  const drops = TRIGGER_NAMES.map(
    (name) => `    EXECUTE format('DROP TRIGGER IF EXISTS ${name} ON %s', r.q);`,
  );
  return {
    name: 'ragspace_stats_detach_all',
    args: '',
    returns: 'void',
    body: `DECLARE r record;
BEGIN
  FOR r IN SELECT DISTINCT tgrelid::regclass::text AS q FROM pg_trigger
            WHERE tgname::text = ANY (${TRIGGER_ARRAY}) LOOP
${drops.join('\n')}
  END LOOP;
END`,
  };
}

/** Every function, in an order where each one's dependencies come first. */
export function functionsSql(schema: string): string[] {
  const defs: FunctionDef[] = [
    flushFunction(),
    commitFunction(),
    recountFunction(),
    ...STAMPS.flatMap((stamp) => [insertFunction(stamp), updateFunction(stamp)]),
    deleteFunction(),
    truncateFunction(),
    attachFunction(),
    eligibleFunction(schema),
    detachFunction(),
    onDdlFunction(),
    onDropFunction(schema),
  ];
  return [
    ...defs.map((def) => createFunction(def, schema)),
    `COMMENT ON FUNCTION ragspace_stats_flush(bigint) IS ${quoteLiteral(STATS_VERSION)}`,
  ];
}

export const COMMIT_TRIGGER_SQL = `CREATE CONSTRAINT TRIGGER ragspace_stats_commit
  AFTER INSERT ON ${PENDING_TABLE} DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW WHEN (NEW.first) EXECUTE FUNCTION ragspace_stats_commit()`;

export const EVENT_TRIGGERS = {
  ragspace_stats_ddl: `CREATE EVENT TRIGGER ragspace_stats_ddl ON ddl_command_end
    WHEN TAG IN ('CREATE TABLE', 'CREATE TABLE AS', 'SELECT INTO')
    EXECUTE FUNCTION ragspace_stats_on_ddl()`,
  ragspace_stats_drop: `CREATE EVENT TRIGGER ragspace_stats_drop ON sql_drop
    WHEN TAG IN ('DROP TABLE', 'DROP SCHEMA')
    EXECUTE FUNCTION ragspace_stats_on_drop()`,
};
