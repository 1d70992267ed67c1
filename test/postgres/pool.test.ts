import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { PostgresConfig } from '../../src/config.ts';
import { isRagspaceError } from '../../src/errors.ts';
import { retryDelayMs, sslOptions } from '../../src/storage/postgres/pool.ts';
import { tempDir } from '../helpers.ts';
import {
  createTestDatabase,
  openPostgres,
  PG_WITHOUT_VECTORS,
  pgTestConfig,
  type TestDatabase,
} from './helpers.ts';

/** POSTGRES_SSL_MODE, certificate paths and connection retries. */
describe('TLS options per POSTGRES_SSL_MODE', () => {
  const dir = tempDir();
  const files = {
    ca: join(dir.path, 'root.crt'),
    cert: join(dir.path, 'c.crt'),
    key: join(dir.path, 'c.key'),
  };
  const base = pgTestConfig().postgres;
  const withPaths: PostgresConfig = {
    ...base,
    sslRootCert: files.ca,
    sslCert: files.cert,
    sslKey: files.key,
  };

  before(() => {
    writeFileSync(files.ca, 'CA');
    writeFileSync(files.cert, 'CERT');
    writeFileSync(files.key, 'KEY');
  });
  after(() => dir.cleanup());

  it('disable and allow start without TLS; prefer and require do not verify', () => {
    assert.equal(sslOptions(base, 'disable'), false);
    assert.equal(sslOptions(base, 'allow'), false);
    assert.deepEqual(sslOptions(base, 'prefer'), { rejectUnauthorized: false });
    assert.deepEqual(sslOptions(base, 'require'), { rejectUnauthorized: false });
  });

  it('verify-ca checks the chain but not the host name; verify-full checks both', () => {
    const ca = sslOptions(withPaths, 'verify-ca');
    assert.ok(ca);
    assert.equal(ca.rejectUnauthorized, true);
    assert.equal(ca.checkServerIdentity?.('db.example', {} as never), undefined);
    assert.equal(String(ca.ca), 'CA');
    assert.equal(String(ca.cert), 'CERT');
    assert.equal(String(ca.key), 'KEY');
    const full = sslOptions(withPaths, 'verify-full');
    assert.ok(full);
    assert.equal(full.rejectUnauthorized, true);
    assert.equal(full.checkServerIdentity, undefined, "Node's host name check stays on");
  });

  it('require with a root certificate verifies the chain, as libpq does', () => {
    const options = sslOptions({ ...base, sslRootCert: files.ca }, 'require');
    assert.ok(options);
    assert.equal(options.rejectUnauthorized, true);
  });

  it('a certificate path that cannot be read is a configuration error naming it', () => {
    assert.throws(
      () => sslOptions({ ...base, sslCrl: join(dir.path, 'missing.crl') }, 'require'),
      (error) =>
        isRagspaceError(error) &&
        error.code === 'CONFIG_INVALID' &&
        /POSTGRES_SSL_CRL/.test(error.message),
    );
  });

  it('backs off exponentially up to the maximum', () => {
    const policy = { retries: 10, backoff: 3, backoffMax: 30 };
    assert.deepEqual(
      [1, 2, 3, 4, 5].map((n) => retryDelayMs(n, policy)),
      [3000, 6000, 12000, 24000, 30000],
    );
  });
});

describe('TLS against the PostgreSQL 15 server (which has ssl=off)', () => {
  let db: TestDatabase;

  before(async () => {
    db = await createTestDatabase();
  });
  after(() => db.drop());

  it('prefer falls back to a plain connection', async () => {
    const storage = await openPostgres(
      pgTestConfig(db.env, PG_WITHOUT_VECTORS, { POSTGRES_SSL_MODE: 'prefer' }),
    );
    await storage.close();
  });

  it('require fails at once with STORAGE_UNAVAILABLE naming TLS, not retried', async () => {
    const config = pgTestConfig(db.env, PG_WITHOUT_VECTORS, {
      POSTGRES_SSL_MODE: 'require',
      POSTGRES_CONNECTION_RETRIES: '5',
    });
    await assert.rejects(openPostgres(config), (error) => {
      assert.ok(isRagspaceError(error));
      assert.equal(error.code, 'STORAGE_UNAVAILABLE');
      assert.match(error.message, /TLS failed .*after 1 attempt/);
      return true;
    });
  });
});
