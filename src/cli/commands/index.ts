import type { CliCommand } from '../command';

/** Every `qmig` subcommand, in the order `qmig --help` lists them. Add new commands here. */
export const commands: CliCommand[] = [];
