import type { CliCommand } from '../command';
import { qmpCommand } from './qmp';
import { watchCommand } from './watch';
import { migrateCommand } from './migrate';
import { vhostUserCommand } from './vhostUser';
import { labCommand } from './lab';
import { traceCommand } from './trace';
import { analyzeCommand } from './analyze';

/** Every `qmig` subcommand, in the order `qmig --help` lists them. Add new commands here. */
export const commands: CliCommand[] = [
  qmpCommand,
  watchCommand,
  migrateCommand,
  vhostUserCommand,
  traceCommand,
  analyzeCommand,
  labCommand,
];
