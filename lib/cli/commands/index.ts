import type { Command } from 'commander';
import { register as ls } from './ls.js';
import { register as maintenance } from './maintenance.js';
import { register as validate } from './validate.js';

/** Every subcommand, in the order `--help` lists them. Add new commands here. */
export function registerCommands(program: Command): void {
  maintenance(program);
  ls(program);
  validate(program);
}
