/**
 * Structured logging: one JSON line per event on stderr, so stdout stays clean for CLI
 * output (tables, --json). Callers pass facts (workspace, request id, counts), never
 * document text or secrets; `redact` guards the keys most likely to carry either.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const LEVEL_ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

const SECRET_KEYS = /(password|secret|api_?key|token|authorization|content|description)$/i;

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(event: string, fields?: LogFields): void;
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

function redact(fields: LogFields): LogFields {
  const safe: LogFields = {};
  for (const [key, value] of Object.entries(fields)) {
    safe[key] = SECRET_KEYS.test(key) ? '[redacted]' : value;
  }
  return safe;
}

/** LOG_LEVEL names, ours and Python's (one .env serves LightRAG too), in any case. */
export const LOG_LEVEL_NAMES: Record<string, LogLevel> = {
  debug: 'debug',
  info: 'info',
  warn: 'warn',
  warning: 'warn',
  error: 'error',
  critical: 'error',
};

function minimumLevel(): number {
  const configured = LOG_LEVEL_NAMES[(process.env.LOG_LEVEL ?? 'info').toLowerCase()];
  return LEVEL_ORDER[configured ?? 'info'];
}

export function createLogger(
  base: LogFields = {},
  write: (line: string) => void = (line) => process.stderr.write(line + '\n'),
): Logger {
  const threshold = minimumLevel();

  const emit = (level: LogLevel, event: string, fields: LogFields = {}): void => {
    if (LEVEL_ORDER[level] < threshold) return;
    const record = {
      time: new Date().toISOString(),
      level,
      event,
      ...redact(base),
      ...redact(fields),
    };
    write(JSON.stringify(record));
  };

  return {
    debug: (event, fields) => emit('debug', event, fields),
    info: (event, fields) => emit('info', event, fields),
    warn: (event, fields) => emit('warn', event, fields),
    error: (event, fields) => emit('error', event, fields),
    child: (fields) => createLogger({ ...base, ...fields }, write),
  };
}

/** A logger that drops everything; for library calls from tests and one-shot CLI commands. */
export const silentLogger: Logger = createLogger({}, () => undefined);
