/**
 * A year of history in set-based SQL, not through workflows: leads arriving over the last 365 days
 * (in order, so the table is laid out by time like a real one) with a status mix that depends on their age (recent leads open, old ones closed), and for each
 * the rows the pipeline would have written: `created`, `assigned`, `task_created`, `contacted`,
 * `escalated` and closing events, the first-contact task and the assignee's notice.
 */
import type pg from 'pg';
import { say } from './report.js';
import type { BenchTeam } from './teams.js';

const CHUNK = 100_000;

/** One statement per chunk: the leads and every row that hangs off them, through data-modifying CTEs. */
const chunkSql = `
with g as materialized (
  select i, gen_random_uuid() as id, r.team_id, r.user_id, r.email as rep_email,
    -- In arrival order, as a real table fills: lead i of n arrives at (i/n) of the year, give or take minutes.
    now() - ($4::int - i) * (interval '365 days' / $4::int) - random() * interval '10 minutes' as created_at,
    random() as u, random() as v, random() as w
  from generate_series($1::int, $2::int) as i
  join bench_rep r on r.slot = i % $3::int
), s as materialized (
  select g.*,
    case
      when created_at > now() - interval '2 days' then
        case when u < .05 then 'new' when u < .50 then 'assigned' when u < .90 then 'contacted' when u < .95 then 'converted' else 'lost' end
      when created_at > now() - interval '30 days' then
        case when u < .10 then 'assigned' when u < .45 then 'contacted' when u < .60 then 'converted' when u < .80 then 'lost' else 'unresponsive' end
      else
        case when u < .02 then 'contacted' when u < .24 then 'converted' when u < .62 then 'lost' else 'unresponsive' end
    end as status,
    created_at + (5 + v * 115) * interval '1 second' as assigned_at
  from g
), f as materialized (
  select s.*,
    case when status in ('contacted', 'converted', 'lost', 'unresponsive')
      then least(assigned_at + w * w * interval '4 hours', now()) end as contacted_at,
    case when w < .15 then 1 when w < .20 then 2 else 0 end as level
  from s
), c as materialized (
  select f.*,
    case when status in ('converted', 'lost', 'unresponsive') then least(contacted_at + (1 + v * 13) * interval '1 day', now()) end as closed_at
  from f
), leads as (
  insert into lead (id, name, email, phone, source, team_id, assignee_id, status, priority, escalation_level, value,
    first_contact_at, first_assigned_at, first_contact_due_at, converted_at, lost_at, lost_reason, sms_opt_out, email_opt_out, created_at, updated_at)
  select id, 'Lead ' || i, 'lead' || i || '@seed.test', '+1555' || lpad(i::text, 7, '0'),
    (array['web', 'referral', 'ads', 'event'])[1 + i % 4], team_id,
    case when status = 'new' then null else user_id end, status,
    (array['low', 'normal', 'normal', 'normal', 'high', 'urgent'])[1 + floor(w * 6)::int], level,
    case when status = 'converted' then round((500 + w * 20000)::numeric, 2) end,
    contacted_at,
    case when status <> 'new' then assigned_at end,
    case when status <> 'new' then assigned_at + interval '15 minutes' end,
    case when status = 'converted' then closed_at end,
    case when status = 'lost' then closed_at end,
    case when status = 'lost' then 'Went with a competitor' end,
    false, false, created_at, coalesce(closed_at, contacted_at, created_at)
  from c
  returning id
), events as (
  insert into lead_event (id, lead_id, type, actor_id, actor_kind, data, policy_version, idempotency_key, at)
  select gen_random_uuid(), id, 'created', null::uuid, 'system', jsonb_build_object('via', 'app'), null::int, null::text, created_at from c
  union all
  select gen_random_uuid(), id, 'assigned', null, 'workflow', jsonb_build_object('to', user_id, 'reason', 'new_lead'), 1, 'lead-' || id || ':assign:0', assigned_at
    from c where status <> 'new'
  union all
  select gen_random_uuid(), id, 'task_created', null, 'workflow', jsonb_build_object('kind', 'first_contact'), 1, null, assigned_at
    from c where status <> 'new'
  union all
  select gen_random_uuid(), id, 'escalated', null, 'workflow', jsonb_build_object('level', 1, 'action', 'remind_assignee'), 1, 'lead-' || id || ':escalation:0', assigned_at + interval '15 minutes'
    from c where level > 0 and status <> 'new'
  union all
  select gen_random_uuid(), id, 'contacted', user_id, 'user', jsonb_build_object('channel', 'phone', 'first', true), null, null, contacted_at
    from c where contacted_at is not null
  union all
  select gen_random_uuid(), id, status, null, 'workflow', jsonb_build_object('to', status), 1, 'lead-' || id || ':close', closed_at
    from c where closed_at is not null
  returning 1
), tasks as (
  insert into task (id, lead_id, team_id, assignee_id, kind, title, due_at, status, completed_at, idempotency_key, created_at)
  select gen_random_uuid(), id, team_id, user_id, 'first_contact', 'First contact', assigned_at + interval '15 minutes',
    case when contacted_at is not null then 'done' when closed_at is not null then 'cancelled' else 'open' end,
    contacted_at, 'lead-' || id || ':task:first_contact', assigned_at
  from c where status <> 'new'
  returning 1
)
insert into message (id, lead_id, channel, direction, "to", "from", template, body, provider_id, status, idempotency_key, created_at, updated_at)
select gen_random_uuid(), id, 'email', 'outbound', rep_email, 'sandbox@leadline.test', 'notice_assignment',
  'New lead for you' || chr(10) || chr(10) || 'Lead ' || i || ' is yours.', null, 'sent', 'lead-' || id || ':notice:assign:0:email', assigned_at, assigned_at
from c where status <> 'new'`;

export async function seedLeads(pool: pg.Pool, teams: BenchTeam[], total: number): Promise<void> {
  const sql = await pool.connect();
  try {
    // Lead i goes to slot i mod slots: the slots go round the teams, then round each team's reps.
    await sql.query(`create unlogged table bench_rep (slot int primary key, team_id uuid not null, user_id uuid not null, email text not null)`);
    const perTeam = teams[0]!.reps.length;
    const slots = teams.length * perTeam;
    for (let slot = 0; slot < slots; slot++) {
      const team = teams[slot % teams.length]!;
      const rep = team.reps[Math.floor(slot / teams.length)]!;
      await sql.query(`insert into bench_rep values ($1, $2, $3, $4)`, [slot, team.id, rep.id, rep.email]);
    }
    await sql.query(`select setseed(0.42)`);
    const started = Date.now();
    for (let from = 1; from <= total; from += CHUNK) {
      const to = Math.min(total, from + CHUNK - 1);
      await sql.query(chunkSql, [from, to, slots, total]);
      const elapsed = (Date.now() - started) / 1000;
      say(`api: seeded ${to.toLocaleString('en')} of ${total.toLocaleString('en')} leads (${Math.round(elapsed)} s, ~${Math.round((elapsed * total) / to - elapsed)} s to go)`);
    }
    await sql.query(`drop table bench_rep`);
    say('api: vacuum analyze');
    await sql.query(`vacuum analyze`);
    const { rows } = await sql.query<{ relname: string; n: string; size: string }>(
      `select relname, n_live_tup as n, pg_size_pretty(pg_total_relation_size(relid)) as size from pg_stat_user_tables
       where relname in ('lead', 'lead_event', 'task', 'message') order by relname`,
    );
    say(`api: ${rows.map((r) => `${r.relname} ${Number(r.n).toLocaleString('en')} rows (${r.size} with indexes)`).join(', ')}`);
  } finally {
    sql.release();
  }
}
