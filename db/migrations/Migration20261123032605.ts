import { Migration } from '@mikro-orm/migrations';

export class Migration20261123032605 extends Migration {

  override name = 'Migration20261123032605';

  override up(): void | Promise<void> {
    this.addSql(`create table "opt_out" ("id" uuid not null, "address" varchar(254) not null, "channel" text not null, "source" text not null, "at" timestamptz not null, primary key ("id"));`);
    this.addSql(`alter table "opt_out" add constraint "opt_out_address_channel_unique" unique ("address", "channel");`);
    this.addSql(`alter table "opt_out" add constraint "opt_out_channel_check" check ("channel" in ('sms', 'email'));`);
    this.addSql(`alter table "opt_out" add constraint "opt_out_source_check" check ("source" in ('stop_keyword', 'unsubscribe', 'manual'));`);

    this.addSql(`create table "app_user" ("id" uuid not null, "email" varchar(254) not null, "name" varchar(200) not null, "role" text not null, "team_id" uuid null, "phone" varchar(20) null, "password_hash" varchar(255) not null, "active" boolean not null default true, "out_of_office_from" timestamptz null, "out_of_office_until" timestamptz null, "capacity" int not null default 25, "notify_by" text[] not null default '{email}', "working_hours" jsonb null, "last_assigned_at" timestamptz null, "created_at" timestamptz not null, primary key ("id"));`);
    this.addSql(`alter table "app_user" add constraint "app_user_email_unique" unique ("email");`);
    this.addSql(`create index "app_user_team_id_role_index" on "app_user" ("team_id", "role");`);
    this.addSql(`alter table "app_user" add constraint "app_user_role_check" check ("role" in ('admin', 'manager', 'staff', 'ops'));`);

    this.addSql(`create table "team" ("id" uuid not null, "name" varchar(100) not null, "timezone" varchar(64) not null, "business_hours" jsonb not null, "manager_id" uuid null, "policy_id" uuid null, "created_at" timestamptz not null, primary key ("id"));`);
    this.addSql(`alter table "team" add constraint "team_name_unique" unique ("name");`);

    this.addSql(`create table "policy" ("id" uuid not null, "team_id" uuid not null, "name" varchar(100) not null, "current_version" int not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, primary key ("id"));`);
    this.addSql(`alter table "policy" add constraint "policy_team_id_name_unique" unique ("team_id", "name");`);

    this.addSql(`create table "policy_version" ("id" uuid not null, "policy_id" uuid not null, "version" int not null, "rules" jsonb not null, "created_by_id" uuid null, "created_at" timestamptz not null, primary key ("id"));`);
    this.addSql(`alter table "policy_version" add constraint "policy_version_policy_id_version_unique" unique ("policy_id", "version");`);

    this.addSql(`create table "lead" ("id" uuid not null, "name" varchar(200) not null, "email" varchar(254) null, "phone" varchar(20) null, "source" varchar(100) not null default 'manual', "team_id" uuid not null, "assignee_id" uuid null, "status" text not null default 'new', "priority" text not null default 'normal', "escalation_level" int not null default 0, "value" numeric(12,2) null, "notes" text null, "timezone" varchar(64) null, "first_contact_at" timestamptz null, "converted_at" timestamptz null, "lost_at" timestamptz null, "lost_reason" varchar(500) null, "sms_opt_out" boolean not null default false, "email_opt_out" boolean not null default false, "created_at" timestamptz not null, "updated_at" timestamptz not null, primary key ("id"));`);
    this.addSql(`create index "lead_team_id_status_created_at_index" on "lead" ("team_id", "status", "created_at");`);
    this.addSql(`create index "lead_assignee_id_status_created_at_index" on "lead" ("assignee_id", "status", "created_at");`);
    this.addSql(`create index "lead_status_created_at_index" on "lead" ("status", "created_at");`);
    this.addSql(`create index "lead_created_at_index" on "lead" ("created_at");`);
    this.addSql(`create unique index "lead_open_email_unique" on "lead" ("email") where "status" in ('new', 'assigned', 'contacted') and "email" is not null;`);
    this.addSql(`create unique index "lead_open_phone_unique" on "lead" ("phone") where "status" in ('new', 'assigned', 'contacted') and "phone" is not null;`);
    this.addSql(`alter table "lead" add constraint "lead_status_check" check ("status" in ('new', 'assigned', 'contacted', 'converted', 'lost', 'unresponsive'));`);
    this.addSql(`alter table "lead" add constraint "lead_priority_check" check ("priority" in ('low', 'normal', 'high', 'urgent'));`);

    this.addSql(`create table "task" ("id" uuid not null, "lead_id" uuid not null, "team_id" uuid not null, "assignee_id" uuid null, "kind" text not null, "title" varchar(200) not null, "due_at" timestamptz not null, "status" text not null default 'open', "outcome" varchar(500) null, "completed_at" timestamptz null, "idempotency_key" varchar(200) null, "created_at" timestamptz not null, primary key ("id"));`);
    this.addSql(`alter table "task" add constraint "task_idempotency_key_unique" unique ("idempotency_key");`);
    this.addSql(`create index "task_assignee_id_status_due_at_index" on "task" ("assignee_id", "status", "due_at");`);
    this.addSql(`create index "task_team_id_status_due_at_index" on "task" ("team_id", "status", "due_at");`);
    this.addSql(`create index "task_lead_id_status_index" on "task" ("lead_id", "status");`);
    this.addSql(`alter table "task" add constraint "task_kind_check" check ("kind" in ('first_contact', 'follow_up', 'reply', 'escalation'));`);
    this.addSql(`alter table "task" add constraint "task_status_check" check ("status" in ('open', 'done', 'cancelled'));`);

    this.addSql(`create table "message" ("id" uuid not null, "lead_id" uuid null, "channel" text not null, "direction" text not null, "to" varchar(254) not null, "from" varchar(254) not null, "template" varchar(100) null, "body" text not null, "provider_id" varchar(100) null, "status" text not null, "error" text null, "idempotency_key" varchar(200) null, "created_at" timestamptz not null, "updated_at" timestamptz not null, primary key ("id"));`);
    this.addSql(`alter table "message" add constraint "message_idempotency_key_unique" unique ("idempotency_key");`);
    this.addSql(`create index "message_lead_id_created_at_index" on "message" ("lead_id", "created_at");`);
    this.addSql(`create index "message_provider_id_index" on "message" ("provider_id");`);
    this.addSql(`alter table "message" add constraint "message_channel_check" check ("channel" in ('sms', 'email'));`);
    this.addSql(`alter table "message" add constraint "message_direction_check" check ("direction" in ('outbound', 'inbound'));`);
    this.addSql(`alter table "message" add constraint "message_status_check" check ("status" in ('queued', 'sent', 'delivered', 'failed', 'suppressed', 'received'));`);

    this.addSql(`create table "lead_event" ("id" uuid not null, "lead_id" uuid not null, "type" varchar(50) not null, "actor_id" uuid null, "actor_kind" text not null, "data" jsonb not null, "policy_version" int null, "idempotency_key" varchar(200) null, "at" timestamptz not null, primary key ("id"));`);
    this.addSql(`alter table "lead_event" add constraint "lead_event_idempotency_key_unique" unique ("idempotency_key");`);
    this.addSql(`create index "lead_event_lead_id_at_index" on "lead_event" ("lead_id", "at");`);
    this.addSql(`create index "lead_event_type_at_index" on "lead_event" ("type", "at");`);
    this.addSql(`alter table "lead_event" add constraint "lead_event_actor_kind_check" check ("actor_kind" in ('user', 'workflow', 'system'));`);

    this.addSql(`alter table "app_user" add constraint "app_user_team_id_foreign" foreign key ("team_id") references "team" ("id") on delete set null;`);

    this.addSql(`alter table "team" add constraint "team_manager_id_foreign" foreign key ("manager_id") references "app_user" ("id") on delete set null;`);
    this.addSql(`alter table "team" add constraint "team_policy_id_foreign" foreign key ("policy_id") references "policy" ("id") on delete set null;`);

    this.addSql(`alter table "policy" add constraint "policy_team_id_foreign" foreign key ("team_id") references "team" ("id") on delete cascade;`);

    this.addSql(`alter table "policy_version" add constraint "policy_version_policy_id_foreign" foreign key ("policy_id") references "policy" ("id") on delete cascade;`);
    this.addSql(`alter table "policy_version" add constraint "policy_version_created_by_id_foreign" foreign key ("created_by_id") references "app_user" ("id") on delete set null;`);

    this.addSql(`alter table "lead" add constraint "lead_team_id_foreign" foreign key ("team_id") references "team" ("id");`);
    this.addSql(`alter table "lead" add constraint "lead_assignee_id_foreign" foreign key ("assignee_id") references "app_user" ("id") on delete set null;`);

    this.addSql(`alter table "task" add constraint "task_lead_id_foreign" foreign key ("lead_id") references "lead" ("id") on delete cascade;`);
    this.addSql(`alter table "task" add constraint "task_team_id_foreign" foreign key ("team_id") references "team" ("id");`);
    this.addSql(`alter table "task" add constraint "task_assignee_id_foreign" foreign key ("assignee_id") references "app_user" ("id") on delete set null;`);

    this.addSql(`alter table "message" add constraint "message_lead_id_foreign" foreign key ("lead_id") references "lead" ("id") on delete cascade;`);

    this.addSql(`alter table "lead_event" add constraint "lead_event_lead_id_foreign" foreign key ("lead_id") references "lead" ("id") on delete cascade;`);
    this.addSql(`alter table "lead_event" add constraint "lead_event_actor_id_foreign" foreign key ("actor_id") references "app_user" ("id") on delete set null;`);
  }

}
