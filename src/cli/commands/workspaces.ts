import { readConfig } from '../../config.ts';
import { openStorage } from '../../storage/index.ts';
import type { WorkspacePage } from '../../storage/types.ts';
import { clientPage, parseWorkspaceQuery } from '../../workspace/query.ts';
import { commandEnv, parseOptions } from '../args.ts';
import { renderTable } from '../table.ts';

/** `ragspace workspaces [--json] [--q S] [--sort K] [--limit N]`: the workspace list. */
export async function workspacesCommand(args: string[]): Promise<number> {
  const options = parseOptions(args, {
    json: { type: 'boolean' },
    q: { type: 'string' },
    sort: { type: 'string' },
    limit: { type: 'string' },
    offset: { type: 'string' },
    dotenv: { type: 'string' },
  });
  const config = readConfig(commandEnv(options.dotenv));
  const query = parseWorkspaceQuery({
    q: options.q,
    sort: options.sort,
    limit: options.limit ?? '10000',
    offset: options.offset,
  });
  const storage = await openStorage(config);
  try {
    const page = clientPage(await storage.listWorkspaces(query));
    process.stdout.write(options.json ? JSON.stringify(page, null, 2) + '\n' : formatPage(page));
    return 0;
  } finally {
    await storage.close();
  }
}

function formatPage(page: WorkspacePage): string {
  const rows = page.workspaces.map((ws) => [
    ws.name,
    ws.entity_count,
    ws.relation_count,
    ws.document_count,
    ws.chunk_count,
    ws.updated_at ?? '-',
    ws.errors ? `${ws.errors.length} problem(s)` : 'ok',
  ]);
  const headers = ['workspace', 'entities', 'relations', 'documents', 'chunks', 'updated', 'state'];
  let text = renderTable(headers, rows) + `${page.count} workspace(s)\n`;
  for (const bad of page.invalid_workspaces ?? []) {
    text += `skipped directory "${bad.directory}": ${bad.reason}\n`;
  }
  return text;
}
