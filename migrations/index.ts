/** Every migration, in order. Registered as classes (no globbing: MikroORM's discovery needs Node 22). */
import { Migration20261124000001_init } from './Migration20261124000001_init.ts';
import { Migration20261124000002_idempotency_outbox } from './Migration20261124000002_idempotency_outbox.ts';
import { Migration20261124000003_task_run_branch } from './Migration20261124000003_task_run_branch.ts';
import { Migration20261201000004_team_history } from './Migration20261201000004_team_history.ts';

export const migrationsList = [
  { name: 'Migration20261124000001_init', class: Migration20261124000001_init },
  { name: 'Migration20261124000002_idempotency_outbox', class: Migration20261124000002_idempotency_outbox },
  { name: 'Migration20261124000003_task_run_branch', class: Migration20261124000003_task_run_branch },
  { name: 'Migration20261201000004_team_history', class: Migration20261201000004_team_history },
];
