import type { Command } from 'commander';
import { register as create } from './create.js';
import { register as deleteCommand } from './delete.js';
import { register as fsck } from './fsck.js';
import { register as health } from './health.js';
import { register as ls } from './ls.js';
import { register as maintenance } from './maintenance.js';
import { register as optimize } from './optimize.js';
import { register as plan } from './plan.js';
import { register as read } from './read.js';
import { register as reconcile } from './reconcile.js';
import { register as validate } from './validate.js';
import { register as write } from './write.js';

/** Every subcommand, in the order `--help` lists them. Add new commands here. */
export function registerCommands(program: Command): void {
  create(program);
  write(program);
  read(program);
  deleteCommand(program);
  optimize(program);
  maintenance(program);
  health(program);
  fsck(program);
  plan(program);
  ls(program);
  validate(program);
  reconcile(program);
}
