import type { Logger } from 'pino';
import type { Config } from '../../src/config/load.ts';
import { createHeraldLogger } from '../../src/observability/logger.ts';

export interface LogCapture {
  /** Herald's own logger (redaction included), writing here instead of stdout. */
  readonly logger: Logger;
  /** Every line written so far, parsed. */
  lines(): Record<string, unknown>[];
  /** Everything written so far, raw: what a secret must never appear in. */
  text(): string;
}

/** A Herald logger whose output a test can read (pino writes synchronously to it). */
export function captureLogs(level: Config['logLevel'] = 'trace'): LogCapture {
  const chunks: string[] = [];
  const logger = createHeraldLogger(level, {
    write(chunk: string) {
      chunks.push(chunk);
    },
  });
  return {
    logger,
    text: () => chunks.join(''),
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}
