import { parseArgs, type ParseArgsConfig } from 'node:util';
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
