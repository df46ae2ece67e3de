/**
 * When does a missed first-contact deadline count? The deadline decides, not the order in which the
 * workflow happens to see things: a step is a breach when its deadline passed before the lead's first
 * contact was logged. A worker that was down when the deadline fell, or a contact whose signal lands
 * just after the timer, changes when the breach is recorded, never whether.
 */
export function escalationBreached(dueAt: string | number, contactAt: string | number | null): boolean {
  return contactAt === null || toMillis(contactAt) > toMillis(dueAt);
}

/** The earlier of two optional ISO times, or null. */
export function earliest(a: string | null | undefined, b: string | null | undefined): string | null {
  if (!a) return b ?? null;
  if (!b) return a;
  return toMillis(a) <= toMillis(b) ? a : b;
}

const toMillis = (at: string | number) => (typeof at === 'number' ? at : Date.parse(at));
