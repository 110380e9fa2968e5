/**
 * Entry point of the trace-events language server (dist/traceEventsServer.js), started by
 * the extension's language client over node IPC, or by tests over stdio (`--stdio`).
 */
import { createConnection, ProposedFeatures } from 'vscode-languageserver/node';
import { startServer } from './server';

const connection = createConnection(ProposedFeatures.all);
// A failure in one handler is logged; it must not end the server.
process.on('unhandledRejection', (e) => connection.console.error(`unhandled: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`));
startServer(connection);
