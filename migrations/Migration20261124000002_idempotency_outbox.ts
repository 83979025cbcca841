import { Migration } from '@mikro-orm/migrations';

/**
 * idempotency_key: Idempotency-Key records when Redis is not configured (scope = route + principal).
 * outbox: events stored with their Event row and dispatched to the queue; a relay re-dispatches
 * rows not acknowledged in time.
 */
export class Migration20261124000002_idempotency_outbox extends Migration {
  override name = 'Migration20261124000002_idempotency_outbox';

  override up(): void {
    this.addSql(`create table "idempotency_key" (
      "scope" text not null,
      "key" text not null,
      "fingerprint" text not null,
      "state" text not null default 'in_flight',
      "response_status" int null,
      "response_headers" jsonb null,
      "response_body" text null,
      "created_at" timestamptz not null default now(),
      "expires_at" timestamptz not null,
      primary key ("scope", "key")
    );`);
    this.addSql(`create index "idempotency_key_expires_idx" on "idempotency_key" ("expires_at");`);
    this.addSql(`create table "outbox" (
      "event_id" text primary key references "event" ("id") on delete cascade,
      "project_id" text not null,
      "created_at" timestamptz not null default now(),
      "dispatched_at" timestamptz null,
      "acked_at" timestamptz null,
      "attempts" int not null default 0
    );`);
    this.addSql(`create index "outbox_pending_idx" on "outbox" ("created_at") where "acked_at" is null;`);
  }

  override down(): void {
    this.addSql(`drop table if exists "outbox";`);
    this.addSql(`drop table if exists "idempotency_key";`);
  }
}
