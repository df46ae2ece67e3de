import { Migration } from '@mikro-orm/migrations';

/** The API request behind each timeline row. */
export class Migration20261123090000 extends Migration {
  override name = 'Migration20261123090000';

  override up(): void {
    this.addSql(`alter table "lead_event" add column "request_id" varchar(128) null;`);
  }

  override down(): void {
    this.addSql(`alter table "lead_event" drop column "request_id";`);
  }
}
