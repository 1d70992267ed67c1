import { loadEnv, readConfig } from '../../config.ts';
import { createLogger } from '../../log.ts';
import { startServer } from '../../server.ts';
import { parseOptions } from '../args.ts';

/** `ragspace serve [--port N] [--host H]`: runs until SIGINT or SIGTERM. */
export async function serveCommand(args: string[]): Promise<number> {
  const options = parseOptions(args, {
    port: { type: 'string' },
    host: { type: 'string' },
    dotenv: { type: 'string' },
  });
  const env = loadEnv(options.dotenv);
  if (options.port) env.PORT = options.port;
  if (options.host) env.HOST = options.host;
  const config = readConfig(env);
  // The logger reads LOG_LEVEL from the process; a .env file's value counts too.
  if (env.LOG_LEVEL !== undefined) process.env.LOG_LEVEL = env.LOG_LEVEL;
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
