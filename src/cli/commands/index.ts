import type { CliCommand } from '../command';
import { qmpCommand } from './qmp';
import { vhostUserCommand } from './vhostUser';
import { labCommand } from './lab';
import { traceCommand } from './trace';

/** Every `qmig` subcommand, in the order `qmig --help` lists them. Add new commands here. */
export const commands: CliCommand[] = [
  qmpCommand,
  vhostUserCommand,
  traceCommand,
  labCommand,
];
