import { Migration } from '@mikro-orm/migrations';

/** API keys for website intake, and the intake requests that make `Idempotency-Key` work. */
export class Migration20261123084000 extends Migration {
  override name = 'Migration20261123084000';

  override up(): void {
    this.addSql(`create table "api_key" ("id" uuid not null, "team_id" uuid not null, "name" varchar(100) not null, "prefix" varchar(16) not null, "key_hash" varchar(64) not null, "created_by_id" uuid null, "last_used_at" timestamptz null, "revoked_at" timestamptz null, "created_at" timestamptz not null, primary key ("id"));`);
    this.addSql(`alter table "api_key" add constraint "api_key_key_hash_unique" unique ("key_hash");`);
    this.addSql(`alter table "api_key" add constraint "api_key_team_id_foreign" foreign key ("team_id") references "team" ("id") on delete cascade;`);
    this.addSql(`alter table "api_key" add constraint "api_key_created_by_id_foreign" foreign key ("created_by_id") references "app_user" ("id") on delete set null;`);

    this.addSql(`create table "intake_request" ("id" uuid not null, "api_key_id" uuid not null, "idempotency_key" varchar(200) null, "lead_id" uuid not null, "outcome" text not null, "created_at" timestamptz not null, primary key ("id"));`);
    this.addSql(`alter table "intake_request" add constraint "intake_request_api_key_id_idempotency_key_unique" unique ("api_key_id", "idempotency_key");`);
    this.addSql(`alter table "intake_request" add constraint "intake_request_outcome_check" check ("outcome" in ('created', 'merged'));`);
    this.addSql(`alter table "intake_request" add constraint "intake_request_api_key_id_foreign" foreign key ("api_key_id") references "api_key" ("id") on delete cascade;`);
    this.addSql(`alter table "intake_request" add constraint "intake_request_lead_id_foreign" foreign key ("lead_id") references "lead" ("id") on delete cascade;`);
  }

  override down(): void {
    this.addSql(`drop table if exists "intake_request" cascade;`);
    this.addSql(`drop table if exists "api_key" cascade;`);
  }
}
