export { QmpClient, defaultCommandTimeoutMs, defaultConnectTimeoutMs, defaultMaxMessageBytes } from './client';
export type { QmpConnectOptions, QmpExecuteOptions, QmpWaitOptions } from './client';
export {
  QmpConnectionError,
  QmpError,
  QmpOobUnavailableError,
  QmpProtocolError,
  QmpTimeoutError,
} from './errors';
export type { QmpEvent, QmpGreeting, QmpTranscriptEntry } from './messages';
export { formatQmpTarget, parseQmpTarget } from './target';
export type { QmpTarget } from './target';
export { QmpSchema } from './schema';
export type { SchemaInfo, SchemaMember } from './schema';
export * from './migration';
