import { z } from 'zod';
import { durationSchema } from './duration.js';

const clockTime = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be a time of day such as 08:00');

export const escalationActions = ['remind_assignee', 'notify_manager', 'reassign', 'raise_priority'] as const;
export type EscalationAction = (typeof escalationActions)[number];

const escalationStep = z.object({
  after: durationSchema,
  action: z.enum(escalationActions),
});

const cadenceStepSchema = z.discriminatedUnion('action', [
  z.object({ after: durationSchema, action: z.literal('task'), title: z.string().min(1).max(200) }),
  z.object({ after: durationSchema, action: z.literal('sms'), template: z.string().min(1).max(100) }),
  z.object({ after: durationSchema, action: z.literal('email'), template: z.string().min(1).max(100) }),
]);

/** The escalation rules a manager tunes for a team; every save is a new immutable version. */
export const policyRulesSchema = z.strictObject({
  firstContactSla: durationSchema,
  businessHoursOnly: z.boolean(),
  escalation: z.array(escalationStep).max(20),
  cadence: z.array(cadenceStepSchema).max(50),
  onCadenceEnd: z.enum(['unresponsive', 'keep_open']),
  /** How long after the last cadence step a lead that never answered closes as unresponsive (default 1d). */
  unresponsiveAfter: durationSchema.optional(),
  quietHours: z.strictObject({ start: clockTime, end: clockTime }),
  /** Notices to staff (assignment, reminders, manager alerts) wait for the recipient's working hours; false sends them at once. */
  noticesRespectWorkingHours: z.boolean().optional(),
  assignment: z.strictObject({
    strategy: z.enum(['round_robin', 'least_loaded']),
    respectCapacity: z.boolean(),
    respectWorkingHours: z.boolean(),
  }),
});

export type PolicyRules = z.infer<typeof policyRulesSchema>;
export type CadenceStep = z.infer<typeof cadenceStepSchema>;

/** What a policy version carries into a workflow: the rules and which version they are. */
export interface PolicySnapshot {
  policyId: string;
  version: number;
  rules: PolicyRules;
}

export const defaultPolicyRules: PolicyRules = {
  firstContactSla: '15m',
  businessHoursOnly: true,
  escalation: [
    { after: '15m', action: 'remind_assignee' },
    { after: '30m', action: 'notify_manager' },
    { after: '60m', action: 'reassign' },
  ],
  cadence: [
    { after: '1d', action: 'task', title: 'Follow-up call' },
    { after: '2d', action: 'sms', template: 'followup_sms' },
    { after: '4d', action: 'email', template: 'followup_email' },
    { after: '7d', action: 'task', title: 'Last attempt' },
  ],
  onCadenceEnd: 'unresponsive',
  unresponsiveAfter: '1d',
  quietHours: { start: '21:00', end: '08:00' },
  assignment: { strategy: 'round_robin', respectCapacity: true, respectWorkingHours: true },
};
