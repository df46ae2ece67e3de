import { Migration } from '@mikro-orm/migrations';

/**
 * The dashboard's per-lead figures on the lead row: when it was first assigned and when its first
 * contact was due. Stats over a month of a million leads looked both up per lead (about a second);
 * read from the row, they are one range scan. Filled in from the timeline and tasks for existing
 * leads; the partial indexes those lookups used go.
 */
export class Migration20261123161000 extends Migration {
  override name = 'Migration20261123161000';

  override up(): void {
    this.addSql(`alter table "lead" add column "first_assigned_at" timestamptz null, add column "first_contact_due_at" timestamptz null;`);
    this.addSql(`update "lead" as l set
      "first_assigned_at" = (select min(e."at") from "lead_event" as e where e."lead_id" = l."id" and e."type" = 'assigned'),
      "first_contact_due_at" = (select min(t."due_at") from "task" as t where t."lead_id" = l."id" and t."kind" = 'first_contact');`);
    this.addSql(`drop index "lead_event_assigned_index";`);
    this.addSql(`drop index "task_first_contact_index";`);
  }

  override down(): void {
    this.addSql(`create index "lead_event_assigned_index" on "lead_event" ("lead_id", "at") where "type" = 'assigned';`);
    this.addSql(`create index "task_first_contact_index" on "task" ("lead_id", "due_at") where "kind" = 'first_contact';`);
    this.addSql(`alter table "lead" drop column "first_assigned_at", drop column "first_contact_due_at";`);
  }
}
