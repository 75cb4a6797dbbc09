/**
 * Herald as a library: `import { createHerald } from 'herald'` runs the API and/or the
 * dispatcher inside your process (see docs/library.md). The package ships TypeScript sources:
 * run the importing program through tsx (`node --import tsx app.ts`).
 */
export { type Config, ConfigError, loadConfig } from './config/load.ts';
export { type ErrorCode, HeraldError } from './errors.ts';
export {
  createHerald,
  type Herald,
  type HeraldApi,
  type HeraldOptions,
  type HeraldSettings,
  type PublishedMessage,
} from './library/create-herald.ts';
export type { PublishInput } from './library/message-input.ts';
export { type RunningHerald, startHerald } from './server.ts';
export type { Queryable } from './store/postgres/database.ts';
