/**
 * The trace engine's public surface: catalogues (trace-events → decoders), readers
 * (log backend, simpletrace; plain, gzip, xz; follow mode; worker threads) and the
 * columnar event store they fill.
 */
export { Catalogue, catalogueFromText, loadCatalogueFromDir, type CatalogueEvent, type DuplicateEvent } from './catalogue';
export { builtinCatalogue, builtinVersions, latestBuiltinVersion, resolveBuiltinVersion } from './catalogues/index';
export { parseTraceEvents, isStringType, type TraceEventDecl, type TraceArg, type TraceEventsSyntaxError } from './traceEventsParser';
export { Decoder, DecodeScratch, type FieldInfo, type FieldValueType } from './decoder';
export { parseFormat, type Conversion, type FormatStep } from './format';
export { readTrace, detectTraceFormat, finishStore, type ReadTraceOptions, type TraceFormat } from './readTrace';
export { readTraceInWorker, catalogueSpec, type WorkerReadOptions } from './workerClient';
export { followTrace, type FollowOptions, type FollowReset } from './follow';
export { LogLineParser } from './logReader';
export { SimpletraceParser, looksLikeSimpletrace } from './simpletrace';
export { TraceStore, EventTable, ColumnView, type FieldValue, type MalformedLine, type TimeKind } from './store';
export { appendStore, serializeStore, deserializeStore, type SerializedStore } from './storeTransfer';
export { exportStore, exportFormats, type ExportFormat } from './export';
export { guessQemuVersion, guessVersionFromSample, type VersionGuess } from './versionGuess';
export { traceSummaryText, traceReportText } from './summary';
export { TraceReadError, CancelledError, readChunks } from './source';
