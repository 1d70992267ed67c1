import type {
  Entity,
  KvNamespace,
  KvRecord,
  Relation,
  VectorNamespace,
  VectorRecord,
  WorkspaceWriter,
} from '../types.ts';
import * as graph from './graph.ts';
import { deleteRecords, upsertRecords } from './records.ts';
import { PostgresReader } from './reader.ts';
import { DOC_STATUS_TABLE, KV_TABLES } from './tables.ts';
import type { WriteNotice } from './text.ts';
import * as vectors from './vectors.ts';

/**
 * Writes of one workspace inside one transaction (see PostgresStorage.write). Graph
 * upserts wait in a buffer until something reads, deletes or the write commits; every
 * other change is sent at once. Degrees are recounted once, just before commit.
 */
export class PostgresWriter extends PostgresReader implements WorkspaceWriter {
  private readonly buffer = new graph.GraphBuffer();

  protected override async ready(): Promise<void> {
    if (this.buffer.pending) await this.buffer.flush(this.session);
  }

  /** What the text policy changed or could not store in this write, so far. */
  notices(): WriteNotice[] {
    return [...this.session.policy.notices];
  }

  async upsertEntity(entity: Entity): Promise<void> {
    this.need('graph');
    this.buffer.addEntity(this.session, entity);
  }

  async deleteEntity(name: string): Promise<void> {
    this.need('graph');
    await this.ready();
    const neighbours = await graph.deleteEntity(this.session, name);
    for (const neighbour of neighbours) this.buffer.changeDegree(neighbour, -1);
    this.buffer.degreeChanges.delete(name);
  }

  async upsertRelation(relation: Relation): Promise<void> {
    this.need('graph');
    this.buffer.addRelation(this.session, relation);
  }

  async deleteRelation(source: string, target: string): Promise<void> {
    this.need('graph');
    await this.ready();
    const removed = await graph.deleteRelation(this.session, source, target);
    if (!removed) return;
    this.buffer.changeDegree(source, -1);
    this.buffer.changeDegree(target, -1);
  }

  async upsertKv(namespace: KvNamespace, records: Map<string, KvRecord>): Promise<void> {
    const spec = this.recordTable(namespace);
    await upsertRecords(this.session, spec, records);
  }

  async deleteKv(namespace: KvNamespace, ids: string[]): Promise<void> {
    await deleteRecords(this.session, this.recordTable(namespace), ids);
  }

  async upsertVectors(namespace: VectorNamespace, rows: VectorRecord[]): Promise<void> {
    this.need('vector');
    await vectors.upsertVectors(this.session, namespace, rows);
  }

  async deleteVectors(namespace: VectorNamespace, ids: string[]): Promise<void> {
    this.need('vector');
    await vectors.deleteVectors(this.session, namespace, ids);
  }

  async clear(): Promise<void> {
    const { stores, client, ws } = this.session;
    await this.ready();
    if (stores.graph) await graph.clearGraph(this.session);
    this.buffer.degreeChanges.clear();
    const tables = [
      ...(stores.kv ? Object.values(KV_TABLES) : []),
      ...(stores.docStatus ? [DOC_STATUS_TABLE] : []),
    ];
    for (const table of tables) {
      await client.query(`DELETE FROM ${table} WHERE workspace = $1`, [ws]);
    }
    if (stores.vector) await vectors.clearVectors(this.session);
  }

  /** Sends what is buffered and applies degree changes; the caller commits next. */
  async finish(): Promise<void> {
    await this.ready();
    await this.buffer.applyDegreeChanges(this.session);
  }
}
