import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FindingGroup } from '../../src/migrate/findings.ts';
import { SAMPLES } from '../helpers.ts';
import { startPgliteServer, type PgliteServer } from '../postgres/helpers.ts';
import {
  ALL_PG,
  migConfig,
  only,
  run,
  sampleDimension,
  sampleWorkspaces,
  treeChecksum,
} from './helpers.ts';

/**
 * Every sample workspace, all stores including the three vector stores, into PGlite with
 * pgvector; each verified. The samples' own inconsistencies come back as source findings,
 * not as migration failures.
 */
function source(findings: FindingGroup[], code: string): FindingGroup | undefined {
  return findings.find((f) => f.severity === 'source' && f.code === code);
}

describe('migrating every sample into PGlite with pgvector', () => {
  let server: PgliteServer;
  const checksum = treeChecksum(SAMPLES);
  const reports = new Map<string, Awaited<ReturnType<typeof only>>>();

  before(async () => {
    server = await startPgliteServer();
  });

  after(async () => {
    await server.stop();
    assert.equal(treeChecksum(SAMPLES), checksum, 'the sample files were modified');
  });

  for (const sample of sampleWorkspaces()) {
    it(sample.label, async () => {
      const alias: Record<string, string> = sample.label.startsWith('nasret')
        ? { WORKSPACE: 'default', POSTGRES_WORKSPACE: 'nasret_default' }
        : {};
      const dim = String(sampleDimension(sample.directory));
      const env = { WORKING_DIR: sample.workingDir, EMBEDDING_DIM: dim };
      const config = migConfig(ALL_PG, server.env, alias, env);
      const report = only(await run(config, { workspaces: [sample.workspace] }));
      assert.equal(report.status, 'migrated', JSON.stringify(report.error ?? report.verification));
      const vectors = report.verification!.filter((v) => v.store.startsWith('vdb_'));
      assert.equal(vectors.length, 3);
      assert.ok(vectors.every((v) => v.ok && v.source === v.target));
      reports.set(sample.label, report);
    });
  }

  it("reports loadinglit-old-english's own inconsistencies as the source's", () => {
    const report = reports.get('loadinglit-old-english')!;
    assert.equal(source(report.findings, 'self_loop')?.count, 1);
    const missing = source(report.findings, 'node_without_vector');
    assert.equal(missing?.count, 4, 'graph 361 nodes, 357 entity vectors');
    assert.ok(source(report.findings, 'vector_without_chunk'), 'a chunk vector without chunk');
    assert.ok(report.findings.every((f) => f.severity !== 'error'));
  });

  it("reports adamaslan-tiny's isolated nodes without vectors as the source's", () => {
    const report = reports.get('adamaslan-tiny')!;
    assert.equal(source(report.findings, 'node_without_vector')?.count, 4);
  });

  it('keeps the NaN chunk vectors of pavel-russian-empty-graph as pending rows', () => {
    const report = reports.get('pavel-russian-empty-graph')!;
    const nan = report.findings.find((f) => f.code === 'non_finite_vector');
    assert.equal(nan?.count, 5);
    const chunks = report.verification!.find((v) => v.store === 'vdb_chunks')!;
    assert.equal(chunks.target, 5);
  });
});
