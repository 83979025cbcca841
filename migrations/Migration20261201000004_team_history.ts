import { Migration } from '@mikro-orm/migrations';

/**
 * Team mode and durable history:
 *  - actor_snapshot holds one row per actor of a project (`project`, `task:<id>`), keyed by
 *    (project_id, actor_id);
 *  - project_event: every committed transition and task event of a project, in seq order (the
 *    history the dashboard and `devteam watch` load, and the WebSocket replays from).
 */
export class Migration20261201000004_team_history extends Migration {
  override name = 'Migration20261201000004_team_history';

  override up(): void {
    this.addSql(`alter table "actor_snapshot" add column "actor_id" text not null default 'project';`);
    this.addSql(`alter table "actor_snapshot" drop constraint "actor_snapshot_pkey";`);
    this.addSql(`alter table "actor_snapshot" add constraint "actor_snapshot_pkey" primary key ("project_id", "actor_id");`);
    this.addSql(`create table "project_event" (
      "project_id" text not null references "project" ("id") on delete cascade,
      "seq" bigint not null,
      "n" int not null,
      "type" text not null,
      "ts" timestamptz not null,
      "payload" jsonb not null,
      primary key ("project_id", "seq", "n")
    );`);
    this.addSql(`create index "project_event_ts_idx" on "project_event" ("ts");`);
  }

  override down(): void {
    this.addSql(`drop table "project_event";`);
    this.addSql(`delete from "actor_snapshot" where "actor_id" <> 'project';`);
    this.addSql(`alter table "actor_snapshot" drop constraint "actor_snapshot_pkey";`);
    this.addSql(`alter table "actor_snapshot" add constraint "actor_snapshot_pkey" primary key ("project_id");`);
    this.addSql(`alter table "actor_snapshot" drop column "actor_id";`);
  }
}
