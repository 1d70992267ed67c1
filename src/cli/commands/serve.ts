import { readConfig } from '../../config.ts';
import { createLogger } from '../../log.ts';
import { startServer } from '../../server.ts';
import { commandEnv, parseOptions } from '../args.ts';

/** `ragspace serve [--port N] [--host H]`: runs until SIGINT or SIGTERM. */
export async function serveCommand(args: string[]): Promise<number> {
  const options = parseOptions(args, {
    port: { type: 'string' },
    host: { type: 'string' },
    dotenv: { type: 'string' },
  });
  const env = commandEnv(options.dotenv);
  if (options.port) env.PORT = options.port;
  if (options.host) env.HOST = options.host;
  const config = readConfig(env);
  const logger = createLogger({ service: 'ragspace' });
  const server = await startServer(config, logger);
  process.stdout.write(`ragspace listening on ${server.url} (docs: ${server.url}/docs)\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  logger.info('server.stopping');
  await server.close();
  return 0;
}
