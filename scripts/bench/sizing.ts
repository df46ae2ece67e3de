/**
 * From CPU per lead to cores: what the engine bench's per-process figures say a deployment needs. Processes
 * are grouped by what is scaled apart in production: the lead workers, Temporal (the dev server, or the
 * cluster's four roles), Postgres (Leadline's database and, on the cluster, Temporal's too) and the API.
 */
export const tiers = ['worker', 'temporal', 'postgres', 'api'] as const;
export type Tier = (typeof tiers)[number];

/** The team to size for, and the assumption behind its peak: a fifth of a day's leads come in its busiest hour. */
export const LEADS_PER_DAY = 100_000;
export const PEAK_HOUR_SHARE = 0.2;

/** The tier of a process in the bench's CPU listing; bare workers and the bench's own driver are in none. */
export function tierOf(name: string): Tier | null {
  if (/^leadWorker\d*$/.test(name)) return 'worker';
  if (/^temporal/.test(name)) return 'temporal';
  if (name === 'postgres' || name === 'api') return name;
  return null;
}

/** Temporal's own databases on the cluster's Postgres (persistence and visibility). */
export const isTemporalDatabase = (database: string) => database.startsWith('temporal');

/** CPU milliseconds per lead of each tier, from CPU seconds per process over `count` leads. */
export function cpuMsPerLead(cpuSeconds: Record<string, number>, count: number): Record<Tier, number> {
  const perLead = Object.fromEntries(tiers.map((tier) => [tier, 0])) as Record<Tier, number>;
  for (const [name, seconds] of Object.entries(cpuSeconds)) {
    const tier = tierOf(name);
    if (tier) perLead[tier] += (seconds * 1000) / count;
  }
  return perLead;
}

export interface TierSizing {
  cpuMsPerLead: number;
  /** What one core of this tier keeps up with, all of it busy. */
  leadsPerSecondPerCore: number;
  /** Cores busy on average over the day, and through the busiest hour. */
  coresAverage: number;
  coresPeak: number;
}

export const averageRate = (leadsPerDay: number) => leadsPerDay / 86_400;
export const peakRate = (leadsPerDay: number, peakHourShare: number) => (leadsPerDay * peakHourShare) / 3_600;

export function sizing(msPerLead: Record<Tier, number>, leadsPerDay = LEADS_PER_DAY, peakHourShare = PEAK_HOUR_SHARE): Record<Tier | 'total', TierSizing> {
  const total = tiers.reduce((sum, tier) => sum + msPerLead[tier], 0);
  const size = (ms: number): TierSizing => ({
    cpuMsPerLead: ms,
    leadsPerSecondPerCore: 1000 / ms,
    coresAverage: (averageRate(leadsPerDay) * ms) / 1000,
    coresPeak: (peakRate(leadsPerDay, peakHourShare) * ms) / 1000,
  });
  return { ...(Object.fromEntries(tiers.map((tier) => [tier, size(msPerLead[tier])])) as Record<Tier, TierSizing>), total: size(total) };
}
