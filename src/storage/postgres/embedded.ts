import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { vector } from '@electric-sql/pglite-pgvector';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { errors, postgresErrors } from '../../errors.ts';
import type { Logger } from '../../log.ts';

/**
 * Embedded PostgreSQL: PGlite (PostgreSQL 18 in WASM) with pgvector and pg_trgm, persisted
 * in RAGSPACE_PGLITE_DIR, served on 127.0.0.1 at an ephemeral port by pglite-socket.
 *
 * Why the socket and not pglite's in-process node-postgres adapter: the socket speaks the
 * real wire protocol, so the production `pg` code runs unchanged (binary vector
 * parameters, type parsers, pool, transactions, `ragspace doctor`), and `psql` can attach
 * for debugging. What PGlite cannot do, and the backend therefore avoids here:
 * - COPY FROM STDIN through the socket wedges the database: bulk writes use INSERT only;
 * - it is one backend for every connection: an open transaction stalls all others, and
 *   session-level state is shared, so the pool holds one connection (see below);
 * - one process per directory: a lock file refuses a second process.
 */
export interface EmbeddedServer {
  host: string;
  port: number;
  directory: string;
  stop(): Promise<void>;
}

const LOCK_FILE = 'ragspace.lock';
/**
 * One working connection: PGlite is a single backend, and pglite-socket interleaves the
 * extended-protocol messages of connections that talk at the same time (clobbering the
 * unnamed statement) and can then stall its queue for good (electric-sql/pglite#1046).
 * The storage's pool has one client, which serialises everything before it reaches the
 * socket (PGlite runs one statement at a time anyway).
 */
export const EMBEDDED_POOL_SIZE = 1;

/**
 * For pools that also hold an idle connection for a session lock (the migration's
 * workspace lock): two connections, of which only one may ever be talking.
 */
export const EMBEDDED_CONNECTIONS = 2;

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: string }).code === 'EPERM';
  }
}

/** Directories this process has open (the lock file cannot tell two of ours apart). */
const openHere = new Set<string>();

function takeLock(directory: string): () => void {
  if (openHere.has(directory)) throw postgresErrors.embeddedBusy(directory, process.pid);
  const path = join(directory, LOCK_FILE);
  let holder = NaN;
  try {
    holder = Number(readFileSync(path, 'utf8').trim());
  } catch {
    // No lock file: the directory is free.
  }
  if (Number.isInteger(holder) && holder !== process.pid && processAlive(holder)) {
    throw postgresErrors.embeddedBusy(directory, holder);
  }
  writeFileSync(path, String(process.pid));
  openHere.add(directory);
  return () => {
    openHere.delete(directory);
    rmSync(path, { force: true });
  };
}

/** A directory that cannot be made is a configuration problem, not a crash. */
function makeDirectory(directory: string): void {
  try {
    mkdirSync(directory, { recursive: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
    throw errors.configInvalid([
      `RAGSPACE_PGLITE_DIR=${directory} cannot be a directory (${code})`,
    ]);
  }
}

export async function startEmbedded(dir: string, log: Logger): Promise<EmbeddedServer> {
  const directory = resolve(dir);
  makeDirectory(directory);
  const releaseLock = takeLock(directory);
  try {
    return await openDatabase(directory, releaseLock, log);
  } catch (error) {
    releaseLock();
    throw error;
  }
}

async function openDatabase(
  directory: string,
  releaseLock: () => void,
  log: Logger,
): Promise<EmbeddedServer> {
  const db = await PGlite.create(directory, { extensions: { vector, pg_trgm } });
  const server = new PGLiteSocketServer({
    db,
    host: '127.0.0.1',
    port: 0,
    maxConnections: EMBEDDED_CONNECTIONS + 4,
  });
  await server.start();
  const port = Number(server.getServerConn().split(':').pop());
  log.info('postgres.embedded_started', { directory, port });
  const stop = async () => {
    await server.stop();
    await db.close();
    releaseLock();
  };
  return { host: '127.0.0.1', port, directory, stop };
}
