import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import pg from 'pg';
import type { PostgresConfig } from '../../config.ts';
import { errors, postgresErrors } from '../../errors.ts';
import type { Logger } from '../../log.ts';

/**
 * One `pg` pool shared by every workspace. No connection carries workspace state: the
 * workspace is a bound parameter of every statement, so any client serves any request.
 * The only session settings are backend-neutral (TimeZone=UTC, so TIMESTAMP columns hold
 * naive UTC as LightRAG writes them).
 */
export interface PgTarget {
  host: string;
  port: number;
  user: string;
  password: string | undefined;
  database: string;
  maxConnections: number;
  ssl: false | ConnectionOptions;
}

export interface RetryPolicy {
  retries: number;
  /** Seconds before the first retry; doubled on each further one. */
  backoff: number;
  backoffMax: number;
}

const INT8_OID = 20;
const TIMESTAMP_OID = 1114;
const TIMESTAMPTZ_OID = 1184;

/**
 * Per-pool type parsers (never the global ones, which other code may rely on): bigint
 * counts and Unix seconds become numbers; timestamps stay text, because `pg` would read
 * a naive TIMESTAMP in the process's local zone, and LightRAG's columns are naive UTC.
 */
const TYPES = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID) return (value: string) => Number(value);
    if (oid === TIMESTAMP_OID || oid === TIMESTAMPTZ_OID) return (value: string) => value;
    return format === 'binary'
      ? pg.types.getTypeParser(oid, 'binary')
      : pg.types.getTypeParser(oid, 'text');
  },
};

export function describeTarget(target: PgTarget): string {
  return `${target.host}:${target.port}/${target.database}`;
}

function readCertFile(variable: string, path: string | undefined): Buffer | undefined {
  if (path === undefined) return undefined;
  try {
    return readFileSync(path);
  } catch {
    throw errors.configInvalid([`${variable}=${path} cannot be read`]);
  }
}

function clientCertificates(config: PostgresConfig): ConnectionOptions {
  const options: ConnectionOptions = {};
  const cert = readCertFile('POSTGRES_SSL_CERT', config.sslCert);
  const key = readCertFile('POSTGRES_SSL_KEY', config.sslKey);
  const crl = readCertFile('POSTGRES_SSL_CRL', config.sslCrl);
  if (cert) options.cert = cert;
  if (key) options.key = key;
  if (crl) options.crl = crl;
  return options;
}

/**
 * POSTGRES_SSL_MODE mapped onto Node's TLS options. What libpq does and `pg` cannot:
 * - allow/prefer: libpq decides per connection whether to fall back; here the choice is
 *   made once, by a probe when the pool opens (see `chooseSsl`), and kept for its life.
 * - verify-ca/verify-full without POSTGRES_SSL_ROOT_CERT: libpq requires
 *   ~/.postgresql/root.crt; Node verifies against its bundled public CAs instead.
 * - require with a root certificate verifies the chain, as libpq does (like verify-ca).
 * Unset means prefer, libpq's and asyncpg's default.
 */
export function sslOptions(config: PostgresConfig, mode: string): false | ConnectionOptions {
  if (mode === 'disable' || mode === 'allow') return false;
  const base = clientCertificates(config);
  const ca = readCertFile('POSTGRES_SSL_ROOT_CERT', config.sslRootCert);
  if (ca) base.ca = ca;
  if (mode === 'verify-full') return { ...base, rejectUnauthorized: true };
  if (mode === 'verify-ca' || (mode === 'require' && ca)) {
    return { ...base, rejectUnauthorized: true, checkServerIdentity: () => undefined };
  }
  return { ...base, rejectUnauthorized: false };
}

export function createPool(target: PgTarget): pg.Pool {
  const pool = new pg.Pool({
    host: target.host,
    port: target.port,
    user: target.user,
    password: target.password,
    database: target.database,
    max: target.maxConnections,
    ssl: target.ssl,
    types: TYPES,
    application_name: 'ragspace',
    connectionTimeoutMillis: 30_000,
  });
  // An idle client that loses its server emits here; without a listener Node would crash.
  pool.on('error', () => undefined);
  return pool;
}

const TRANSIENT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  '57P01',
  '57P02',
  '57P03',
  '53300',
]);

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Errors worth retrying: the server is starting, restarting, unreachable or full. */
export function isTransient(error: unknown): boolean {
  const code = errorCode(error);
  if (code && (TRANSIENT_CODES.has(code) || code.startsWith('08'))) return true;
  const message = error instanceof Error ? error.message : '';
  return /Connection terminated|timeout exceeded when trying to connect/i.test(message);
}

/** A reason safe to show a user: the kind of failure, never SQL or stack details. */
export function connectionReason(error: unknown): string {
  const code = errorCode(error);
  if (code === '28P01' || code === '28000') return 'authentication was refused';
  if (code === '3D000') return 'the database does not exist';
  if (code === 'ECONNREFUSED') return 'the connection was refused';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'the host name does not resolve';
  if (code === '57P03') return 'the server is starting up';
  if (code === '53300') return 'the server has too many connections';
  const message = error instanceof Error ? error.message : '';
  if (/SSL|certificate|self[- ]signed/i.test(message)) return `TLS failed (${message})`;
  if (isTransient(error)) return 'the server did not answer';
  return `the connection failed (${code ?? 'unknown error'})`;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function retryDelayMs(attempt: number, policy: RetryPolicy): number {
  const seconds = Math.min(policy.backoff * 2 ** (attempt - 1), policy.backoffMax);
  return Math.round(seconds * 1000);
}

/**
 * Runs `attempt` until it succeeds, retrying transient connection failures with
 * exponential backoff (POSTGRES_CONNECTION_RETRIES, _RETRY_BACKOFF, _RETRY_BACKOFF_MAX).
 */
export async function withRetries<T>(
  what: string,
  policy: RetryPolicy,
  log: Logger,
  attempt: () => Promise<T>,
): Promise<T> {
  for (let tried = 1; ; tried++) {
    try {
      return await attempt();
    } catch (error) {
      if (!isTransient(error) || tried > policy.retries) {
        throw postgresErrors.unavailable(what, connectionReason(error), tried);
      }
      const delay = retryDelayMs(tried, policy);
      log.warn('postgres.retry', { target: what, attempt: tried, delay_ms: delay });
      await sleep(delay);
    }
  }
}

const initialised = new WeakSet<pg.PoolClient>();

/** Checks out a client (retrying while the server is unreachable) with the session set. */
export async function acquire(
  pool: pg.Pool,
  what: string,
  policy: RetryPolicy,
  log: Logger,
): Promise<pg.PoolClient> {
  return withRetries(what, policy, log, async () => {
    const client = await pool.connect();
    if (initialised.has(client)) return client;
    try {
      await client.query("SET TIME ZONE 'UTC'");
    } catch (error) {
      client.release(true);
      throw error;
    }
    initialised.add(client);
    return client;
  });
}

/** Runs `fn` inside BEGIN/COMMIT on `client`, rolling back on any error. */
export async function inTransaction<T>(
  client: pg.PoolClient,
  begin: string,
  fn: () => Promise<T>,
): Promise<T> {
  await client.query(begin);
  try {
    const result = await fn();
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

async function tryConnect(target: PgTarget): Promise<void> {
  const client = new pg.Client({ ...target, ssl: target.ssl, types: TYPES });
  client.on('error', () => undefined);
  try {
    await client.connect();
  } finally {
    await client.end().catch(() => undefined);
  }
}

function sslRefusedByServer(error: unknown): boolean {
  return error instanceof Error && /does not support SSL/i.test(error.message);
}

function encryptionRequired(error: unknown): boolean {
  return errorCode(error) === '28000' && /no encryption|SSL off/i.test(String(error));
}

/**
 * Settles the TLS options for the pool's life. For allow/prefer this probes once, which
 * is the closest `pg` gets to libpq's per-connection fallback.
 */
export async function chooseSsl(target: PgTarget, mode: string): Promise<PgTarget> {
  if (mode !== 'allow' && mode !== 'prefer') return target;
  try {
    await tryConnect(target);
    return target;
  } catch (error) {
    if (mode === 'prefer' && sslRefusedByServer(error)) return { ...target, ssl: false };
    if (mode === 'allow' && encryptionRequired(error)) {
      return { ...target, ssl: { rejectUnauthorized: false } };
    }
    throw error;
  }
}
