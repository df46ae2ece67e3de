import { randomUUID } from 'node:crypto';
import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import {
  leadStatuses,
  priorities,
  roles,
  taskKinds,
  taskStatuses,
} from '../domain/lead.js';
import type { BusinessCalendar } from '../domain/businessHours.js';
import type { PolicyRules } from '../domain/policy.js';

const id = () => p.uuid().primary().onCreate(() => randomUUID());
const createdAt = () => p.datetime().onCreate(() => new Date());
const updatedAt = () => p.datetime().onCreate(() => new Date()).onUpdate(() => new Date());

/** Per-weekday opening hours (split shifts are several ranges) and closed dates, in the team's timezone. */
export type BusinessHours = Omit<BusinessCalendar, 'timezone'>;

export const TeamSchema = defineEntity({
  name: 'Team',
  properties: {
    id: id(),
    name: p.string().length(100).unique(),
    timezone: p.string().length(64),
    businessHours: p.json<BusinessHours>(),
    manager: () => p.manyToOne(UserSchema).nullable().deleteRule('set null'),
    policy: () => p.manyToOne(PolicySchema).nullable().deleteRule('set null'),
    /** The rotation's virtual time (see `domain/assignment.ts`): where a returning person rejoins. */
    rotationPass: p.double().runtimeType('number').$type<number>().default(0),
    createdAt: createdAt(),
  },
});
export type Team = InferEntity<typeof TeamSchema>;

export const UserSchema = defineEntity({
  name: 'User',
  tableName: 'app_user',
  properties: {
    id: id(),
    /** Stored lower-cased, which makes the unique index case-insensitive. */
    email: p.string().length(254).unique(),
    name: p.string().length(200),
    role: p.enum(roles),
    team: () => p.manyToOne(TeamSchema).nullable().deleteRule('set null'),
    phone: p.string().length(20).nullable(),
    passwordHash: p.string().hidden().lazy(),
    active: p.boolean().default(true),
    outOfOfficeFrom: p.datetime().nullable(),
    outOfOfficeUntil: p.datetime().nullable(),
    capacity: p.integer().default(25),
    notifyBy: p.array<'sms' | 'email'>().default(['email']),
    /** The person's own hours when they differ from the team's; null means the team's. */
    workingHours: p.json<BusinessHours>().nullable(),
    /** Share of a weighted rotation: 2 takes twice the leads of 1. */
    weight: p.integer().default(1),
    /** Weighted round-robin position: grows by 1/weight with each lead; the lowest goes next. */
    rotationPass: p.double().runtimeType('number').$type<number>().default(0),
    lastAssignedAt: p.datetime().nullable(),
    createdAt: createdAt(),
  },
  indexes: [{ properties: ['team', 'role'] }],
  checks: [{ name: 'app_user_weight_check', expression: '((weight >= 1) AND (weight <= 100))' }],
});
export type User = InferEntity<typeof UserSchema>;

export const PolicySchema = defineEntity({
  name: 'Policy',
  properties: {
    id: id(),
    team: () => p.manyToOne(TeamSchema).deleteRule('cascade'),
    name: p.string().length(100),
    currentVersion: p.integer(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  uniques: [{ properties: ['team', 'name'] }],
});
export type Policy = InferEntity<typeof PolicySchema>;

/** One immutable saved version of a policy's rules. */
export const PolicyVersionSchema = defineEntity({
  name: 'PolicyVersion',
  properties: {
    id: id(),
    policy: () => p.manyToOne(PolicySchema).deleteRule('cascade'),
    version: p.integer(),
    rules: p.json<PolicyRules>(),
    createdBy: () => p.manyToOne(UserSchema).nullable().deleteRule('set null'),
    createdAt: createdAt(),
  },
  uniques: [{ properties: ['policy', 'version'] }],
});
export type PolicyVersion = InferEntity<typeof PolicyVersionSchema>;

export const LeadSchema = defineEntity({
  name: 'Lead',
  properties: {
    id: id(),
    name: p.string().length(200),
    /** Lower-cased; with `phone` (E.164) the dedupe key of open leads. */
    email: p.string().length(254).nullable(),
    phone: p.string().length(20).nullable(),
    source: p.string().length(100).default('manual'),
    team: () => p.manyToOne(TeamSchema),
    assignee: () => p.manyToOne(UserSchema).nullable().deleteRule('set null'),
    status: p.enum(leadStatuses).default('new'),
    priority: p.enum(priorities).default('normal'),
    escalationLevel: p.integer().default(0),
    value: p.decimal('number').precision(12).scale(2).nullable(),
    notes: p.text().nullable(),
    timezone: p.string().length(64).nullable(),
    firstContactAt: p.datetime().nullable(),
    /** When someone first had the lead, and when its first contact was due: the dashboard's per-lead figures, kept on the row. */
    firstAssignedAt: p.datetime().nullable(),
    firstContactDueAt: p.datetime().nullable(),
    convertedAt: p.datetime().nullable(),
    lostAt: p.datetime().nullable(),
    lostReason: p.string().length(500).nullable(),
    smsOptOut: p.boolean().default(false),
    emailOptOut: p.boolean().default(false),
    /** Set while nobody could take the lead: the team's queue is its open leads in this order. */
    queuedAt: p.datetime().nullable(),
    /** Set while the lead's clocks are stopped (waiting on the customer, or the lead replied). */
    pausedAt: p.datetime().nullable(),
    pauseReason: p.string().length(200).nullable(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  indexes: [
    { name: 'lead_team_queue_index', expression: `create index "lead_team_queue_index" on "lead" ("team_id", "queued_at") where "queued_at" is not null` },
    { properties: ['team', 'status', 'createdAt'] },
    { properties: ['assignee', 'status', 'createdAt'] },
    { properties: ['status', 'createdAt'] },
    { properties: ['createdAt'] },
    { properties: ['assignee', 'createdAt'] },
    { properties: ['team', 'createdAt'] },
    // Search (`q` on the lead list): trigram indexes serve `ilike '%…%'`.
    { name: 'lead_name_trgm_index', expression: `create index "lead_name_trgm_index" on "lead" using gin ("name" gin_trgm_ops)` },
    { name: 'lead_email_trgm_index', expression: `create index "lead_email_trgm_index" on "lead" using gin ("email" gin_trgm_ops)` },
    { name: 'lead_phone_trgm_index', expression: `create index "lead_phone_trgm_index" on "lead" using gin ("phone" gin_trgm_ops)` },
  ],
  uniques: [
    // Dedupe: at most one open lead per email and per phone; closed leads may repeat.
    {
      name: 'lead_open_email_unique',
      expression: `create unique index "lead_open_email_unique" on "lead" ("email") where "status" in ('new', 'assigned', 'contacted') and "email" is not null`,
    },
    {
      name: 'lead_open_phone_unique',
      expression: `create unique index "lead_open_phone_unique" on "lead" ("phone") where "status" in ('new', 'assigned', 'contacted') and "phone" is not null`,
    },
  ],
});
export type Lead = InferEntity<typeof LeadSchema>;

export const TaskSchema = defineEntity({
  name: 'Task',
  properties: {
    id: id(),
    lead: () => p.manyToOne(LeadSchema).deleteRule('cascade'),
    /** Copied from the lead so a manager's inbox is one indexed query. */
    team: () => p.manyToOne(TeamSchema),
    assignee: () => p.manyToOne(UserSchema).nullable().deleteRule('set null'),
    kind: p.enum(taskKinds),
    title: p.string().length(200),
    dueAt: p.datetime(),
    status: p.enum(taskStatuses).default('open'),
    outcome: p.string().length(500).nullable(),
    completedAt: p.datetime().nullable(),
    /** Set by the workflow (workflow id and step), so a retried activity finds the task it made. */
    idempotencyKey: p.string().length(200).nullable().unique(),
    createdAt: createdAt(),
  },
  indexes: [
    { properties: ['assignee', 'status', 'dueAt'] },
    { properties: ['team', 'status', 'dueAt'] },
    { properties: ['lead', 'status'] },
  ],
});
export type Task = InferEntity<typeof TaskSchema>;

export const MessageSchema = defineEntity({
  name: 'Message',
  properties: {
    id: id(),
    lead: () => p.manyToOne(LeadSchema).nullable().deleteRule('cascade'),
    channel: p.enum(['sms', 'email'] as const),
    direction: p.enum(['outbound', 'inbound'] as const),
    to: p.string().length(254),
    from: p.string().length(254),
    template: p.string().length(100).nullable(),
    body: p.text(),
    providerId: p.string().length(100).nullable(),
    status: p.enum(['queued', 'sent', 'delivered', 'failed', 'suppressed', 'received'] as const),
    error: p.text().nullable(),
    idempotencyKey: p.string().length(200).nullable().unique(),
    /** Set while an attempt has handed the message to its provider and not heard back; a retry that finds it set may not send blindly. */
    sendStartedAt: p.datetime().nullable(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  indexes: [{ properties: ['lead', 'createdAt'] }, { properties: ['providerId'] }],
});
export type Message = InferEntity<typeof MessageSchema>;

/** The timeline and audit trail: one row per state change, message, escalation, assignment or policy change. */
export const LeadEventSchema = defineEntity({
  name: 'LeadEvent',
  properties: {
    id: id(),
    lead: () => p.manyToOne(LeadSchema).deleteRule('cascade'),
    type: p.string().length(50),
    /** A user, or null when the workflow or the system acted. */
    actor: () => p.manyToOne(UserSchema).nullable().deleteRule('set null'),
    actorKind: p.enum(['user', 'workflow', 'system'] as const),
    data: p.json<Record<string, unknown>>(),
    policyVersion: p.integer().nullable(),
    idempotencyKey: p.string().length(200).nullable().unique(),
    /** The API request behind the change, also when a workflow activity wrote it (`X-Request-Id`). */
    requestId: p.string().length(128).nullable(),
    at: p.datetime().onCreate(() => new Date()),
  },
  indexes: [
    { properties: ['lead', 'at'] },
    { properties: ['type', 'at'] },
  ],
});
export type LeadEvent = InferEntity<typeof LeadEventSchema>;

export const OptOutSchema = defineEntity({
  name: 'OptOut',
  properties: {
    id: id(),
    /** E.164 phone or lower-cased email. */
    address: p.string().length(254),
    channel: p.enum(['sms', 'email'] as const),
    source: p.enum(['stop_keyword', 'unsubscribe', 'manual'] as const),
    at: p.datetime().onCreate(() => new Date()),
  },
  uniques: [{ properties: ['address', 'channel'] }],
});
export type OptOut = InferEntity<typeof OptOutSchema>;

/** A provider webhook event already acted on (Twilio MessageSid and status, SendGrid sg_event_id): a redelivery is a no-op. */
export const ProcessedWebhookSchema = defineEntity({
  name: 'ProcessedWebhook',
  properties: {
    id: id(),
    provider: p.enum(['twilio', 'sendgrid'] as const),
    eventId: p.string().length(200),
    at: p.datetime().onCreate(() => new Date()),
  },
  uniques: [{ properties: ['provider', 'eventId'] }],
});
export type ProcessedWebhook = InferEntity<typeof ProcessedWebhookSchema>;

/** A website or form's key for `POST /api/intake`; only its SHA-256 is stored. */
export const ApiKeySchema = defineEntity({
  name: 'ApiKey',
  properties: {
    id: id(),
    team: () => p.manyToOne(TeamSchema).deleteRule('cascade'),
    name: p.string().length(100),
    /** The first characters of the key, so people can tell keys apart. */
    prefix: p.string().length(16),
    keyHash: p.string().length(64).unique().hidden(),
    createdBy: () => p.manyToOne(UserSchema).nullable().deleteRule('set null'),
    lastUsedAt: p.datetime().nullable(),
    revokedAt: p.datetime().nullable(),
    createdAt: createdAt(),
  },
});
export type ApiKey = InferEntity<typeof ApiKeySchema>;

/** One intake request per key and `Idempotency-Key`: a repeat gets the first answer. */
export const IntakeRequestSchema = defineEntity({
  name: 'IntakeRequest',
  properties: {
    id: id(),
    apiKey: () => p.manyToOne(ApiKeySchema).deleteRule('cascade'),
    idempotencyKey: p.string().length(200).nullable(),
    lead: () => p.manyToOne(LeadSchema).deleteRule('cascade'),
    outcome: p.enum(['created', 'merged'] as const),
    createdAt: createdAt(),
  },
  uniques: [{ properties: ['apiKey', 'idempotencyKey'] }],
});
export type IntakeRequest = InferEntity<typeof IntakeRequestSchema>;

export const entities = [
  ApiKeySchema,
  IntakeRequestSchema,
  TeamSchema,
  UserSchema,
  PolicySchema,
  PolicyVersionSchema,
  LeadSchema,
  TaskSchema,
  MessageSchema,
  LeadEventSchema,
  OptOutSchema,
  ProcessedWebhookSchema,
];
