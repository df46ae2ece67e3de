import { Migration } from '@mikro-orm/migrations';

/** Providers: a send in flight is marked on its message, and webhook events are remembered so a redelivery is a no-op. */
export class Migration20261123091500 extends Migration {
  override name = 'Migration20261123091500';

  override up(): void {
    this.addSql(`alter table "message" add column "send_started_at" timestamptz null;`);

    this.addSql(`create table "processed_webhook" ("id" uuid not null, "provider" text not null, "event_id" varchar(200) not null, "at" timestamptz not null, primary key ("id"));`);
    this.addSql(`alter table "processed_webhook" add constraint "processed_webhook_provider_event_id_unique" unique ("provider", "event_id");`);
    this.addSql(`alter table "processed_webhook" add constraint "processed_webhook_provider_check" check ("provider" in ('twilio', 'sendgrid'));`);
  }

  override down(): void {
    this.addSql(`drop table if exists "processed_webhook" cascade;`);
    this.addSql(`alter table "message" drop column "send_started_at";`);
  }
}
