import { readConfig } from '../../config.ts';
import { createEmbedder } from '../../embedding/client.ts';
import { errors } from '../../errors.ts';
import { reembedWorkspace } from '../../graph/reembed.ts';
import { createLogger } from '../../log.ts';
import { openStorage } from '../../storage/index.ts';
import { workspaceName } from '../../workspace/name.ts';
import { parseWorkspaceQuery } from '../../workspace/query.ts';
import { commandEnv, parseOptions } from '../args.ts';

/** `ragspace reembed [--workspace X]`: computes vectors left pending by earlier writes. */
export async function reembedCommand(args: string[]): Promise<number> {
  const options = parseOptions(args, {
    workspace: { type: 'string' },
    json: { type: 'boolean' },
    dotenv: { type: 'string' },
  });
  const config = readConfig(commandEnv(options.dotenv));
  const logger = createLogger({ command: 'reembed' });
  const embedder = createEmbedder(config.embedding, logger);
  if (!embedder) {
    throw errors.badRequest(
      'No embedding service is configured: set EMBEDDING_BINDING, EMBEDDING_MODEL and ' +
        'EMBEDDING_BINDING_HOST (and EMBEDDING_DIM), then run reembed again.',
    );
  }
  const storage = await openStorage(config);
  try {
    const names = options.workspace
      ? [workspaceName(options.workspace)]
      : (await storage.listWorkspaces(parseWorkspaceQuery({ limit: '10000' }))).workspaces.map(
          (w) => w.name,
        );
    const reports = [];
    for (const name of names) {
      const report = await reembedWorkspace(storage, name, embedder, logger, (ns, done) =>
        process.stderr.write(`${name} ${ns}: ${done} embedded\n`),
      );
      reports.push(report);
    }
    const text = reports.map((r) => `${r.workspace}: ${JSON.stringify(r.embedded)}`).join('\n');
    process.stdout.write((options.json ? JSON.stringify(reports, null, 2) : text) + '\n');
    return 0;
  } finally {
    await storage.close();
  }
}
