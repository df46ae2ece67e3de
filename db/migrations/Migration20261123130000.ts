import { Migration } from '@mikro-orm/migrations';

/**
 * Indexes the benchmarks at a million leads asked for (BENCHMARKS.md):
 * - lead search (`q`: part of a name, email or phone) through trigram indexes instead of reading every lead;
 * - "my leads, newest first" for staff from an index in that order;
 * - the stats' per-lead lookups (first assignment, first-contact due time) answered from small partial
 *   indexes alone, instead of visiting every event and task of each lead.
 */
export class Migration20261123130000 extends Migration {
  override name = 'Migration20261123130000';

  override up(): void {
    this.addSql(`create extension if not exists pg_trgm;`);
    this.addSql(`create index "lead_name_trgm_index" on "lead" using gin ("name" gin_trgm_ops);`);
    this.addSql(`create index "lead_email_trgm_index" on "lead" using gin ("email" gin_trgm_ops);`);
    this.addSql(`create index "lead_phone_trgm_index" on "lead" using gin ("phone" gin_trgm_ops);`);
    this.addSql(`create index "lead_assignee_id_created_at_index" on "lead" ("assignee_id", "created_at");`);
    this.addSql(`create index "lead_event_assigned_index" on "lead_event" ("lead_id", "at") where "type" = 'assigned';`);
    this.addSql(`create index "task_first_contact_index" on "task" ("lead_id", "due_at") where "kind" = 'first_contact';`);
  }

  override down(): void {
    this.addSql(`drop index "task_first_contact_index";`);
    this.addSql(`drop index "lead_event_assigned_index";`);
    this.addSql(`drop index "lead_assignee_id_created_at_index";`);
    this.addSql(`drop index "lead_phone_trgm_index";`);
    this.addSql(`drop index "lead_email_trgm_index";`);
    this.addSql(`drop index "lead_name_trgm_index";`);
  }
}
