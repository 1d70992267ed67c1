import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { stableJson, utcMicros } from '../../src/migrate/canonical.ts';
import { exportWorkspace } from '../../src/migrate/export.ts';
import type { WorkspaceReport } from '../../src/migrate/report.ts';
import { silentLogger } from '../../src/log.ts';
import { VECTOR_META_FIELDS } from '../../src/storage/file/layout.ts';
import { SAMPLES, tempDir } from '../helpers.ts';
import { ALL_PG, migConfig, only, run, sampleDimension, treeChecksum } from './helpers.ts';

/**
 * Files -> PostgreSQL (embedded PGlite) -> files: the exported directory verifies against
 * the rows, and Python (networkx, json) loads it with the same content as the original,
 * apart from what the migration reported it could not keep.
 */
const LOADER = fileURLToPath(new URL('./lightrag_load.py', import.meta.url));
const PYTHON = ['python3', '/usr/bin/python3'].find((p) => {
  try {
    execFileSync(p, ['-c', 'import networkx'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
});

type Json = Record<string, unknown>;

interface Loaded {
  graph?: { directed: boolean; multigraph: boolean; nodes: Json; edges: Json };
  kv: Record<string, Record<string, Json>>;
  vdb: Record<
    string,
    { dim: number; rows: Record<string, { meta: Json; matrix: number[]; vector: number[] | null }> }
  >;
}

function load(directory: string): Loaded {
  const text = execFileSync(PYTHON!, [LOADER, directory], { maxBuffer: 1 << 30 }).toString('utf8');
  return JSON.parse(text) as Loaded;
}

function notStored(report: WorkspaceReport): Map<string, Set<string>> {
  const dropped = new Map<string, Set<string>>();
  for (const group of report.findings.filter((f) => f.code === 'not_stored')) {
    const fields = dropped.get(group.store) ?? new Set<string>();
    dropped.set(group.store, fields.add(group.field ?? ''));
  }
  return dropped;
}

/** LightRAG's load-time flattening of the old nested LLM cache, done independently here. */
function flattenCache(records: Record<string, Json>): Record<string, Json> {
  const keys = Object.keys(records);
  if (keys.length === 0 || keys[0]!.split(':').length === 3) return records;
  const flat: Record<string, Json> = {};
  for (const [mode, inner] of Object.entries(records)) {
    for (const [hash, record] of Object.entries(inner as Record<string, Json>)) {
      flat[`${mode}:${(record.cache_type as string) ?? 'extract'}:${hash}`] = record;
    }
  }
  return flat;
}

const TIMES = new Set(['created_at', 'updated_at']);
const DEFAULTS = [null, 0, 'extract', '[]', '{}'];

function sameValue(field: string, a: unknown, b: unknown): boolean {
  if (TIMES.has(field) && typeof a === 'string' && typeof b === 'string') {
    return utcMicros(a) === utcMicros(b);
  }
  // JSONB keeps object keys in its own order; the content is what must match.
  return stableJson(a) === stableJson(b);
}

function compareRecord(
  store: string,
  id: string,
  original: Json,
  exported: Json,
  dropped: Set<string>,
) {
  for (const [field, value] of Object.entries(original)) {
    if (dropped.has(field)) continue;
    assert.ok(sameValue(field, value, exported[field]), `${store} ${id} ${field} changed`);
  }
  for (const [field, value] of Object.entries(exported)) {
    if (field in original) continue;
    const defaulted =
      field === '_id'
        ? value === id
        : DEFAULTS.includes(
            typeof value === 'object' && value !== null ? JSON.stringify(value) : (value as never),
          );
    assert.ok(defaulted, `${store} ${id}: unexpected new field ${field}=${JSON.stringify(value)}`);
  }
}

function compareKv(original: Loaded, exported: Loaded, dropped: Map<string, Set<string>>) {
  for (const [store, raw] of Object.entries(original.kv)) {
    if (!(store in exported.kv)) continue;
    const records = store === 'llm_response_cache' ? flattenCache(raw) : raw;
    assert.deepEqual(Object.keys(exported.kv[store]!).sort(), Object.keys(records).sort(), store);
    for (const [id, record] of Object.entries(records)) {
      compareRecord(store, id, record, exported.kv[store]![id]!, dropped.get(store) ?? new Set());
    }
  }
}

function compareGraph(original: Loaded, exported: Loaded) {
  const a = original.graph!;
  const b = exported.graph!;
  assert.equal(b.directed, false);
  assert.equal(b.multigraph, false);
  assert.deepEqual(Object.keys(b.nodes).sort(), Object.keys(a.nodes).sort());
  for (const [id, attributes] of Object.entries(a.nodes)) {
    // The backend keeps entity_id equal to the node id, as LightRAG does since 2025-03.
    assert.deepEqual(b.nodes[id], { ...(attributes as Json), entity_id: id }, `node ${id}`);
  }
  assert.deepEqual(b.edges, a.edges);
}

function close(a: number[], b: number[], tolerance: number): boolean {
  return a.length === b.length && a.every((x, i) => Math.abs(x - b[i]!) <= tolerance);
}

function compareVectors(original: Loaded, exported: Loaded) {
  for (const [store, file] of Object.entries(original.vdb)) {
    const out = exported.vdb[store]!;
    assert.equal(out.dim, file.dim);
    assert.deepEqual(Object.keys(out.rows).sort(), Object.keys(file.rows).sort(), store);
    const kept = VECTOR_META_FIELDS[store as keyof typeof VECTOR_META_FIELDS];
    for (const [id, row] of Object.entries(file.rows)) {
      const copy = out.rows[id]!;
      for (const field of kept.filter((f) => f in row.meta)) {
        assert.deepEqual(copy.meta[field], row.meta[field], `${store} ${id} ${field}`);
      }
      // The vector tables keep whole seconds (reported as time_rounded when it matters).
      const created = Math.round((row.meta.__created_at__ as number | undefined) ?? 0);
      assert.equal(copy.meta.__created_at__, created, `${store} ${id} __created_at__`);
      if (row.vector) {
        assert.deepEqual(copy.vector, row.vector, `${store} ${id} float16 vector`);
        // The matrix is the float16 vector normalised again: float16's precision.
        assert.ok(close(copy.matrix, row.matrix, 2e-3), `${store} ${id} matrix row`);
      } else {
        assert.equal(copy.vector, null, `${store} ${id} gained a float16 vector`);
        assert.deepEqual(copy.matrix, row.matrix, `${store} ${id} matrix row`);
      }
    }
  }
}

describe(
  'files -> PostgreSQL -> files, loaded by Python',
  { skip: PYTHON ? false : 'no python3 with networkx' },
  () => {
    const pglite = tempDir('ragspace-mig-pglite-');
    const out = tempDir('ragspace-mig-export-');
    const checksum = treeChecksum(SAMPLES);

    before(() => undefined);
    after(() => {
      pglite.cleanup();
      out.cleanup();
      assert.equal(treeChecksum(SAMPLES), checksum, 'the sample files were modified');
    });

    for (const folder of ['govcon', 'lennyhub', 'wynn-vietnamese', 'mcpsql-small-chinese']) {
      it(folder, async () => {
        const dim = String(sampleDimension(join(SAMPLES, folder)));
        const env = { WORKING_DIR: SAMPLES, EMBEDDING_DIM: dim, RAGSPACE_PGLITE_DIR: pglite.path };
        const config = migConfig(ALL_PG, env);
        const migrated = only(await run(config, { workspaces: [folder] }));
        assert.equal(migrated.status, 'migrated', JSON.stringify(migrated.error));

        const directory = join(out.path, folder);
        const exported = await exportWorkspace(config, {
          workspace: folder,
          out: directory,
          log: silentLogger,
        });
        assert.equal(exported.verification?.ok, true, JSON.stringify(exported.verification));
        assert.ok(existsSync(join(directory, 'graph_chunk_entity_relation.graphml')));

        const original = load(join(SAMPLES, folder));
        const copy = load(directory);
        compareGraph(original, copy);
        compareKv(original, copy, notStored(migrated));
        compareVectors(original, copy);
      });
    }

    it('refuses to export a workspace without rows (a mistyped name)', async () => {
      const env = { WORKING_DIR: SAMPLES, EMBEDDING_DIM: '1024', RAGSPACE_PGLITE_DIR: pglite.path };
      const directory = join(out.path, 'nosuch');
      await assert.rejects(
        exportWorkspace(migConfig(ALL_PG, env), {
          workspace: 'nosuch',
          out: directory,
          log: silentLogger,
        }),
        {
          code: 'MIGRATION_REFUSED',
          message:
            `Workspace "nosuch" has no rows in pglite:${pglite.path}. Nothing was exported; ` +
            'check the name (`ragspace workspaces` lists them with PostgreSQL storage configured).',
        },
      );
      assert.equal(existsSync(join(directory, 'graph_chunk_entity_relation.graphml')), false);
    });
  },
);
