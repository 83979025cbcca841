import { Migration } from '@mikro-orm/migrations';

/** The spine's tables: project (+ status projection columns), actor_snapshot, task_run, event. */
export class Migration20261124000001_init extends Migration {
  override name = 'Migration20261124000001_init';

  override up(): void {
    this.addSql(`create table "project" (
      "id" text primary key,
      "config" jsonb not null,
      "state" text not null default 'initializing',
      "substate" text null,
      "current_task_id" text null,
      "current_task_title" text null,
      "attempt" int null,
      "last_error" text null,
      "status" jsonb null,
      "seq" bigint not null default 0,
      "created_at" timestamptz not null default now(),
      "updated_at" timestamptz not null default now()
    );`);
    this.addSql(`create table "actor_snapshot" (
      "project_id" text primary key references "project" ("id") on delete cascade,
      "seq" bigint not null,
      "machine_version" text not null,
      "snapshot" jsonb not null,
      "fence" bigint not null default 0,
      "updated_at" timestamptz not null default now()
    );`);
    this.addSql(`create table "task_run" (
      "id" bigserial primary key,
      "project_id" text not null,
      "task_id" text not null,
      "attempt" int not null,
      "state" text not null,
      "started_at" timestamptz not null default now(),
      "finished_at" timestamptz null,
      "prompt_sha256" text null,
      "verify" jsonb null,
      "agent" jsonb null,
      "artifacts" jsonb not null default '[]',
      "outcome" text null,
      "deleted_at" timestamptz null,
      constraint "task_run_project_task_attempt_unique" unique ("project_id", "task_id", "attempt")
    );`);
    this.addSql(`create index "task_run_project_idx" on "task_run" ("project_id", "id");`);
    this.addSql(`create table "event" (
      "id" text primary key,
      "type" text not null,
      "project_id" text not null,
      "correlation_id" text not null,
      "payload" jsonb not null,
      "received_at" timestamptz not null default now(),
      "processed_at" timestamptz null,
      "status" text not null default 'received',
      "deliveries" int not null default 0,
      "deleted_at" timestamptz null
    );`);
    this.addSql(`create index "event_project_idx" on "event" ("project_id", "received_at");`);
  }

  override down(): void {
    this.addSql(`drop table if exists "event";`);
    this.addSql(`drop table if exists "task_run";`);
    this.addSql(`drop table if exists "actor_snapshot";`);
    this.addSql(`drop table if exists "project";`);
  }
}
