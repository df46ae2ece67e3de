import type { SqlEntityManager } from '@mikro-orm/postgresql';
import { Router } from 'express';
import { z } from 'zod';
import { businessCalendarSchema } from '../../domain/businessHours.js';
import { leadStatuses } from '../../domain/lead.js';
import { LeadSchema } from '../../db/entities.js';
import { accessibleWhere } from '../accessible.js';
import { requireAuth } from '../auth.js';
import type { RouteDeps } from '../deps.js';
import { AppError } from '../errors.js';

const DAY = 86_400_000;

const statsQuery = z
  .strictObject({
    from: z.iso.datetime({ offset: true }).optional(),
    to: z.iso.datetime({ offset: true }).optional(),
    teamId: z.uuid().optional(),
    /** The zone whose calendar days `escalationsPerDay` counts in, so a chart of the viewer's days lines up. */
    tz: businessCalendarSchema.shape.timezone.default('UTC'),
    format: z.enum(['json', 'csv']).default('json'),
  })
  .transform((query) => {
    const to = query.to ? new Date(query.to) : new Date();
    return { ...query, to, from: query.from ? new Date(query.from) : new Date(to.getTime() - 30 * DAY) };
  })
  .refine((query) => query.from < query.to, { message: 'must be before `to`', path: ['from'] })
  .refine((query) => query.to.getTime() - query.from.getTime() <= 400 * DAY, { message: 'the range may span at most 400 days', path: ['from'] });

interface RepRow {
  team_id: string | null;
  grand_total: boolean;
  team_total: boolean;
  team: string | null;
  assignee_id: string | null;
  rep: string | null;
  leads: string;
  assigned: string;
  contacted: string;
  sla_met: string;
  sla_due: string;
  converted: string;
  closed: string;
  routing_p50: number | null;
  routing_p90: number | null;
  response_p50: number | null;
  response_p90: number | null;
}

const ratio = (part: number, whole: number) => (whole === 0 ? null : Math.round((part / whole) * 1000) / 1000);
const seconds = (value: number | null) => (value === null ? null : Math.round(value * 10) / 10);

/**
 * Per lead in range, all from the lead row: when it was first assigned (routing delay), first
 * contacted (rep response), and whether that was within its first-contact task's due time (SLA met).
 * Grouped by team and rep with `grouping sets`, so the team totals and the total over every team
 * (percentiles cannot be added up afterwards) are the same query.
 */
const perRepSql = (leadFilter: string) => `
  with scoped as (
    select l.id, l.team_id, l.assignee_id, l.status, l.created_at, l.first_contact_at,
      l.first_assigned_at as assigned_at, l.first_contact_due_at as due_at
    from lead l
    where l.created_at >= ? and l.created_at < ? and l.id in (${leadFilter})
  )
  select s.team_id, tm.name as team, s.assignee_id, u.name as rep,
    grouping(s.team_id) = 1 as grand_total, grouping(s.assignee_id) = 1 as team_total,
    count(*) as leads,
    count(s.assigned_at) as assigned,
    count(s.first_contact_at) as contacted,
    count(*) filter (where s.due_at is not null and s.first_contact_at <= s.due_at) as sla_met,
    count(*) filter (where s.due_at is not null and (s.first_contact_at is not null or s.due_at < now())) as sla_due,
    count(*) filter (where s.status = 'converted') as converted,
    count(*) filter (where s.status in ('converted', 'lost', 'unresponsive')) as closed,
    percentile_cont(0.5) within group (order by extract(epoch from s.assigned_at - s.created_at)) as routing_p50,
    percentile_cont(0.9) within group (order by extract(epoch from s.assigned_at - s.created_at)) as routing_p90,
    percentile_cont(0.5) within group (order by extract(epoch from s.first_contact_at - s.assigned_at)) as response_p50,
    percentile_cont(0.9) within group (order by extract(epoch from s.first_contact_at - s.assigned_at)) as response_p90
  from scoped s
  join team tm on tm.id = s.team_id
  left join app_user u on u.id = s.assignee_id
  group by grouping sets ((s.team_id, tm.name, s.assignee_id, u.name), (s.team_id, tm.name), ())
  order by grand_total desc, tm.name, team_total desc, u.name nulls first`;

function summarise(row: RepRow) {
  const n = (value: string) => Number(value);
  return {
    leads: n(row.leads),
    assigned: n(row.assigned),
    contacted: n(row.contacted),
    slaMet: n(row.sla_met),
    /** Leads whose first-contact deadline has passed or that were contacted: what attainment is out of. */
    slaDue: n(row.sla_due),
    slaAttainment: ratio(n(row.sla_met), n(row.sla_due)),
    converted: n(row.converted),
    conversionRate: ratio(n(row.converted), n(row.closed)),
    speedToLead: {
      routingSeconds: { p50: seconds(row.routing_p50), p90: seconds(row.routing_p90) },
      responseSeconds: { p50: seconds(row.response_p50), p90: seconds(row.response_p90) },
    },
  };
}

const csvCell = (value: unknown) => {
  const text = value === null || value === undefined ? '' : String(value);
  // Quote what needs it, and defuse cells a spreadsheet would run as a formula.
  const safe = /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
  return /[",\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
};

export function statsRoutes({ orm }: RouteDeps): Router {
  const router = Router();

  router.get('/stats', async (req, res) => {
    const auth = requireAuth(req);
    if (auth.ability.cannot('read', 'Stats')) throw new AppError(403, 'forbidden', 'You may not see statistics');
    const query = statsQuery.parse(req.query);
    const readable = accessibleWhere(auth.ability, 'read', 'Lead');
    const em = orm.em as SqlEntityManager;
    // The leads the caller may read, as SQL from the same CASL rules as every list.
    const where = { $and: [readable ?? { id: null }, ...(query.teamId ? [{ team: query.teamId }] : [])] };
    const scope = em.createQueryBuilder(LeadSchema, 'x').select('x.id').where(where).toQuery();
    const params = [query.from, query.to, ...scope.params];
    // Per-lead figures only need the leads created in range: with the range inside the subquery too,
    // Postgres matches two small sets rather than every lead the caller may read (before 18 it does
    // not see that both sides are the same rows).
    const created = { createdAt: { $gte: query.from, $lt: query.to } };
    const inRange = em.createQueryBuilder(LeadSchema, 'x').select('x.id').where({ $and: [where, created] }).toQuery();
    const rangeParams = [query.from, query.to, ...inRange.params];

    // Three independent reads, on three connections at once: the answer waits for the slowest.
    const [rows, funnelRows, escalationRows] = await Promise.all([
      em.execute<RepRow[]>(perRepSql(inRange.sql), rangeParams),
      em.execute<{ status: string; count: string }[]>(
        `select status, count(*) as count from lead where created_at >= ? and created_at < ? and id in (${inRange.sql}) group by status`,
        rangeParams,
      ),
      em.execute<{ day: string; count: string }[]>(
        `select to_char(date_trunc('day', e.at at time zone ?), 'YYYY-MM-DD') as day, count(*) as count
         from lead_event e where e.type = 'escalated' and e.at >= ? and e.at < ? and e.lead_id in (${scope.sql})
         group by 1 order by 1`,
        [query.tz, ...params],
      ),
    ]);

    // The empty grouping set answers a row even for a range without leads.
    const grand = rows.find((row) => row.grand_total)!;
    const teams = rows.filter((row) => row.team_total && !row.grand_total);
    const reps = rows.filter((row) => !row.team_total);
    const body = {
      from: query.from.toISOString(),
      to: query.to.toISOString(),
      teamId: query.teamId ?? null,
      tz: query.tz,
      /** Every lead in scope at once: the dashboard's headline figures. */
      total: summarise(grand),
      funnel: Object.fromEntries(leadStatuses.map((status) => [status, Number(funnelRows.find((row) => row.status === status)?.count ?? 0)])),
      escalationsPerDay: escalationRows.map((row) => ({ day: row.day, count: Number(row.count) })),
      teams: teams.map((row) => ({ team: { id: row.team_id!, name: row.team! }, ...summarise(row) })),
      reps: reps.map((row) => ({
        team: { id: row.team_id!, name: row.team! },
        rep: row.assignee_id ? { id: row.assignee_id, name: row.rep } : null,
        ...summarise(row),
      })),
    };

    if (query.format === 'csv') {
      const header = ['team', 'rep', 'leads', 'assigned', 'contacted', 'sla_met', 'sla_due', 'sla_attainment', 'converted', 'conversion_rate', 'routing_p50_s', 'routing_p90_s', 'response_p50_s', 'response_p90_s'];
      const line = (team: string, rep: string, s: ReturnType<typeof summarise>) =>
        [team, rep, s.leads, s.assigned, s.contacted, s.slaMet, s.slaDue, s.slaAttainment, s.converted, s.conversionRate, s.speedToLead.routingSeconds.p50, s.speedToLead.routingSeconds.p90, s.speedToLead.responseSeconds.p50, s.speedToLead.responseSeconds.p90]
          .map(csvCell)
          .join(',');
      const lines = [
        header.join(','),
        ...body.teams.map((t) => line(t.team.name, '(team total)', t)),
        ...body.reps.map((r) => line(r.team.name, r.rep?.name ?? '(unassigned)', r)),
      ];
      res.type('text/csv').attachment(`leadline-stats-${body.from.slice(0, 10)}-${body.to.slice(0, 10)}.csv`).send(`${lines.join('\n')}\n`);
      return;
    }
    res.json(body);
  });

  return router;
}

/** The request schemas of these routes, for the OpenAPI document. */
export const statsSchemas = { statsQuery };
