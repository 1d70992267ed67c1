import {
  GRAPHML_CLOSE,
  graphmlKeysCover,
  writeGraphmlElements,
} from '../../formats/graphml-writer.ts';
import {
  cleanJsonValue,
  noteId,
  writePrettyJsonTail,
  type CleanReport,
} from '../../formats/json-writer.ts';
import type { AppendPlan } from './atomic.ts';
import type { GraphModel } from './graph.ts';
import type { KvStore } from './kv.ts';
import type { PendingStore } from './vectors.ts';

/**
 * Append plans: how a write that only adds records turns into "the current file, cut
 * before its closing text, plus the new items and the closing text" (atomic.ts copies,
 * cuts and renames). A batch of 1,000 entities into a 100,000-entity workspace then costs
 * a file copy instead of serialising every record again (issue 3).
 *
 * - GraphML: new `<node>`/`<edge>` elements go before `</graph>`, with the key ids the
 *   file declares. networkx reads every `<node>` before any `<edge>` whatever their order
 *   in the file (GraphMLReader.make_graph uses findall), so the graph LightRAG loads is the
 *   one a rewrite gives: same nodes in the same order, same edges and attributes. Only
 *   the file's element order differs: new edges come last instead of under their first
 *   end's position (so networkx's adjacency order can differ, as dict order only).
 *   Falls back to a rewrite for any change to an existing node or edge, any deletion, an
 *   attribute (name, type) the file does not declare, or keys with `<default>`s.
 * - JSON key-value stores (`json.dump(indent=2)`): new members go before the final
 *   "\n}"; the bytes equal a rewrite's when the existing file has ragspace's or Python's
 *   layout. Falls back when any existing record was replaced or removed.
 * - ragspace's pending-vectors sidecar: new rows are appended as another member per
 *   namespace ("entities" may repeat); loadPending merges repeated members.
 *
 * nano-vectordb files stay on the full rewrite: `data` and the base64 `matrix` are two
 * parts of one line, so new rows would need both to grow in the middle of the file.
 *
 * Limits: an append still copies and syncs the whole file, which bounds the batch rate:
 * for a 150 MB graph on ext4 (no shared blocks) that is about 150-200 ms of copy and
 * fsync per write, whatever the batch size (btrfs and XFS share the blocks instead).
 * A file with several top-level `<graph>` elements (networkx never writes one for
 * LightRAG) would get the new elements in its last graph, while networkx reads its first.
 */

const GRAPH_END = Buffer.from('</graph>');
const AFTER_GRAPH = /^<\/graph>[ \t\r\n]*<\/graphml>[ \t\r\n]*$/;
const SPACE = 0x20;
const TAB = 0x09;
const NEWLINE = 0x0a;

/** Before the line holding the document's final `</graph>` (or right before the tag). */
export function graphmlCut(tail: Buffer, size: number): number | undefined {
  const at = tail.lastIndexOf(GRAPH_END);
  if (at < 0 || !AFTER_GRAPH.test(tail.toString('latin1', at))) return undefined;
  let start = at;
  while (start > 0 && (tail[start - 1] === SPACE || tail[start - 1] === TAB)) start--;
  const cut = start > 0 && tail[start - 1] === NEWLINE ? start : at;
  return size - tail.length + cut;
}

export function graphAppendPlan(graph: GraphModel): AppendPlan | undefined {
  const keys = graph.fileKeys;
  const source = graph.appendedSource();
  if (!keys || !source || !graphmlKeysCover(source, keys)) return undefined;
  return {
    cut: graphmlCut,
    write: async (sink) => {
      await writeGraphmlElements(source, keys, sink);
      await sink.write(GRAPHML_CLOSE);
    },
  };
}

/** Before the "\n}" that ends a pretty-printed object, with nothing after it. */
export function jsonObjectCut(tail: Buffer, size: number): number | undefined {
  const n = tail.length;
  if (n < 2 || tail[n - 1] !== 0x7d || tail[n - 2] !== NEWLINE) return undefined;
  return size - 2;
}

function* cleanEntries(
  entries: [string, unknown][],
  report: CleanReport,
): Generator<[string, unknown]> {
  for (const [id, value] of entries) yield [noteId(id, report), cleanJsonValue(value, report)];
}

function jsonPlan(entries: [string, unknown][], report: CleanReport): AppendPlan {
  return {
    cut: jsonObjectCut,
    write: (sink) => writePrettyJsonTail(cleanEntries(entries, report), sink),
  };
}

/** A non-empty base has members, so its file ends "\n}" after one (an empty one is `{}`). */
export function kvAppendPlan(
  store: KvStore,
  base: KvStore,
  report: CleanReport,
): AppendPlan | undefined {
  if (base.size === 0) return undefined;
  const added = store.records.additions();
  return added && jsonPlan(added, report);
}

/** Each namespace's new rows as one more member (a namespace new to the file: all rows). */
export function pendingAppendPlan(
  store: PendingStore,
  base: PendingStore,
  report: CleanReport,
): AppendPlan | undefined {
  if (base.size === 0) return undefined;
  const members: [string, unknown][] = [];
  for (const [namespace, rows] of store.rows) {
    const added = base.rows.has(namespace) ? rows.additions() : [...rows];
    if (!added) return undefined;
    if (added.length > 0) members.push([namespace, Object.fromEntries(added)]);
  }
  return jsonPlan(members, report);
}
