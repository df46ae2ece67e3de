import { Migration } from '@mikro-orm/migrations';

/** Weighted rotation state, the team queue, and paused clocks. */
export class Migration20261123080000 extends Migration {
  override name = 'Migration20261123080000';

  override up(): void {
    this.addSql(`alter table "team" add column "rotation_pass" double precision not null default 0;`);
    this.addSql(`alter table "app_user" add column "weight" int not null default 1, add column "rotation_pass" double precision not null default 0;`);
    this.addSql(`alter table "app_user" add constraint "app_user_weight_check" check ("weight" between 1 and 100);`);
    this.addSql(`alter table "lead" add column "queued_at" timestamptz null, add column "paused_at" timestamptz null, add column "pause_reason" varchar(200) null;`);
    this.addSql(`create index "lead_team_queue_index" on "lead" ("team_id", "queued_at") where "queued_at" is not null;`);
  }

  override down(): void {
    this.addSql(`drop index "lead_team_queue_index";`);
    this.addSql(`alter table "lead" drop column "queued_at", drop column "paused_at", drop column "pause_reason";`);
    this.addSql(`alter table "app_user" drop constraint "app_user_weight_check", drop column "weight", drop column "rotation_pass";`);
    this.addSql(`alter table "team" drop column "rotation_pass";`);
  }
}
