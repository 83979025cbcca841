import { Migration } from '@mikro-orm/migrations';

/** task_run.branch: the task branch, whose slug is fixed at the task's first PREP. */
export class Migration20261124000003_task_run_branch extends Migration {
  override name = 'Migration20261124000003_task_run_branch';

  override up(): void {
    this.addSql(`alter table "task_run" add column "branch" text null;`);
  }

  override down(): void {
    this.addSql(`alter table "task_run" drop column "branch";`);
  }
}
