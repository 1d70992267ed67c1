import { parseArgs, type ParseArgsConfig } from 'node:util';
import { loadEnv, type Env } from '../config.ts';
import { errors } from '../errors.ts';

type Options = NonNullable<ParseArgsConfig['options']>;

/** Parses command options strictly; an unknown flag is a usage error, not ignored. */
export function parseOptions<T extends Options>(args: string[], options: T) {
  try {
    return parseArgs({ args, options, allowPositionals: false, strict: true }).values;
  } catch (error) {
    throw errors.badRequest(error instanceof Error ? error.message : String(error));
  }
}

/**
 * The environment a command runs with: the process's, then the `--dotenv` file. The logger
 * reads LOG_LEVEL from the process, so the file's value is copied there to count too.
 */
export function commandEnv(dotenv: string | undefined): Env {
  const env = loadEnv(dotenv);
  if (env.LOG_LEVEL !== undefined) process.env.LOG_LEVEL = env.LOG_LEVEL;
  return env;
}
