/**
 * The migration debugger as a stand-alone debug adapter (stdin/stdout), with QMP connections of
 * its own: used by the protocol tests and by clients other than this extension.
 */
import { DebugSession } from '@vscode/debugadapter';
import { OwnedMonitors } from './runtime/monitors';
import { MigrationDebugSession } from './session';

class StandaloneMigrationDebugSession extends MigrationDebugSession {
  constructor() {
    super(new OwnedMonitors());
  }
}

DebugSession.run(StandaloneMigrationDebugSession);
