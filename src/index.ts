/** Herald as a library. */
export { type Config, ConfigError, loadConfig } from './config/load.ts';
export { type RunningHerald, startHerald } from './server.ts';
