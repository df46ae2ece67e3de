/**
 * A policy's rules as the editor holds them, and the field-by-field differences between two versions.
 * The rules themselves are validated by the API (domain/policy.ts): its field paths, such as
 * `rules.escalation.0.after`, are the keys the editor shows errors under.
 */
import { escalationActionLabels, label } from './format';
import type { CadenceStep, EscalationAction, PolicyRules } from './types';

/** What every step row has, whichever list it is in. */
export interface StepDraft {
  /** Stable across reordering, so each row keeps its inputs (and focus) when it moves. */
  key: number;
  after: string;
  action: string;
}

export interface EscalationDraft extends StepDraft {
  action: EscalationAction;
}

export interface CadenceDraft extends StepDraft {
  action: CadenceStep['action'];
  /** The task's title, or the message's template: one box whose meaning follows the action. */
  text: string;
}

export interface PolicyDraft extends Omit<PolicyRules, 'escalation' | 'cadence' | 'unresponsiveAfter'> {
  escalation: EscalationDraft[];
  cadence: CadenceDraft[];
  /** Empty means the default (1d). */
  unresponsiveAfter: string;
}

let nextKey = 1;
export const rowKey = () => nextKey++;

export function toDraft(rules: PolicyRules): PolicyDraft {
  return {
    // Any field the editor has no control for is kept as it is, so saving never drops it.
    ...rules,
    escalation: rules.escalation.map((step) => ({ key: rowKey(), ...step })),
    cadence: rules.cadence.map((step) => ({ key: rowKey(), after: step.after, action: step.action, text: step.action === 'task' ? step.title : step.template })),
    unresponsiveAfter: rules.unresponsiveAfter ?? '',
    quietHours: { ...rules.quietHours },
    assignment: { ...rules.assignment },
  };
}

/** The rules to send; the API decides whether they are valid. */
export function toRules(draft: PolicyDraft): PolicyRules {
  const trim = (text: string) => text.trim();
  const { escalation, cadence, unresponsiveAfter, ...rest } = draft;
  const rules: PolicyRules = {
    ...rest,
    firstContactSla: trim(draft.firstContactSla),
    escalation: escalation.map(({ after, action }) => ({ after: trim(after), action })),
    cadence: cadence.map(({ after, action, text }): CadenceStep =>
      action === 'task' ? { after: trim(after), action, title: trim(text) } : { after: trim(after), action, template: trim(text) },
    ),
    quietHours: { ...draft.quietHours },
    assignment: { ...draft.assignment },
  };
  if (unresponsiveAfter.trim()) rules.unresponsiveAfter = trim(unresponsiveAfter);
  return rules;
}

/** The field a cadence step's text box stands for, in the API's terms. */
export const cadenceTextField = (action: CadenceStep['action']) => (action === 'task' ? 'title' : 'template');

/** Every error path the editor shows next to a field, a step or a section; others are listed above the form. */
export function editorPaths(draft: PolicyDraft): Set<string> {
  const paths = [
    'rules.firstContactSla',
    'rules.businessHoursOnly',
    'rules.escalation',
    'rules.cadence',
    'rules.onCadenceEnd',
    'rules.unresponsiveAfter',
    'rules.quietHours.start',
    'rules.quietHours.end',
    'rules.assignment.strategy',
    'rules.assignment.respectCapacity',
    'rules.assignment.respectWorkingHours',
    'rules.noticesRespectWorkingHours',
  ];
  draft.escalation.forEach((_, i) => paths.push(`rules.escalation.${i}`, `rules.escalation.${i}.after`, `rules.escalation.${i}.action`));
  draft.cadence.forEach((step, i) => paths.push(`rules.cadence.${i}`, `rules.cadence.${i}.after`, `rules.cadence.${i}.action`, `rules.cadence.${i}.${cadenceTextField(step.action)}`));
  return new Set(paths);
}

const fieldNames: Record<string, string> = {
  rules: 'Rules',
  firstContactSla: 'First-contact SLA',
  businessHoursOnly: 'Business hours only',
  escalation: 'Escalation',
  cadence: 'Cadence',
  onCadenceEnd: 'At the end of the cadence',
  unresponsiveAfter: 'Unresponsive after',
  quietHours: 'Quiet hours',
  assignment: 'Assignment',
  respectCapacity: 'respect capacity',
  respectWorkingHours: 'respect working hours',
  noticesRespectWorkingHours: 'Notices wait for working hours',
};

/** "rules.escalation.0.after" → "Escalation step 1 · after". */
export function pathLabel(path: string): string {
  const parts = path.split('.').filter((part) => part !== 'rules' || path === 'rules');
  const words: string[] = [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    const index = parts[i + 1];
    if ((part === 'escalation' || part === 'cadence') && index !== undefined && /^\d+$/.test(index)) {
      words.push(`${fieldNames[part]} step ${Number(index) + 1}`);
      i++;
    } else {
      words.push(fieldNames[part] ?? (i === 0 ? label(part) : label(part).toLowerCase()));
    }
  }
  return words.join(' · ');
}

export interface RuleChange {
  path: string;
  label: string;
  before: string;
  after: string;
}

type Json = string | number | boolean | null | undefined | Json[] | { [key: string]: Json };

const isRecord = (value: Json): value is { [key: string]: Json } => typeof value === 'object' && value !== null && !Array.isArray(value);

/** A value in a change line: a whole step reads as "30m · Notify the manager". */
function show(value: Json): string {
  if (value === undefined || value === null) return '—';
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (typeof value === 'string') return escalationActionLabels[value as EscalationAction] ?? value;
  if (isRecord(value) && typeof value.after === 'string' && typeof value.action === 'string') {
    const what = value.action === 'task' ? `task “${String(value.title)}”` : value.action === 'sms' || value.action === 'email' ? `${label(value.action)} ${String(value.template)}` : show(value.action);
    return `after ${value.after} · ${what}`;
  }
  return JSON.stringify(value);
}

/**
 * What changed from `before` to `after`, leaf by leaf (steps by position); a step added or removed
 * is one line. Unchanged fields are left out.
 */
export function diffRules(before: PolicyRules | null, after: PolicyRules): RuleChange[] {
  const changes: RuleChange[] = [];
  const walk = (path: string[], a: Json, b: Json) => {
    if (JSON.stringify(a) === JSON.stringify(b)) return;
    if (isRecord(a) && isRecord(b)) {
      const keys = [...Object.keys(a), ...Object.keys(b).filter((key) => !(key in a))];
      for (const key of keys) walk([...path, key], a[key], b[key]);
    } else if (Array.isArray(a) && Array.isArray(b)) {
      for (let i = 0; i < Math.max(a.length, b.length); i++) walk([...path, String(i)], a[i], b[i]);
    } else {
      const joined = path.join('.');
      changes.push({ path: joined, label: pathLabel(joined), before: show(a), after: show(b) });
    }
  };
  walk([], (before ?? {}) as Json, after as unknown as Json);
  return changes;
}

/** The same rules, whatever order their keys came in: for "has the draft changed" and "is this simulation current". */
export function sameRules(a: PolicyRules, b: PolicyRules): boolean {
  return diffRules(a, b).length === 0;
}
