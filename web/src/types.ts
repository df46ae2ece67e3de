/** The shapes the HTTP API answers with (see api/serializers.ts and api/routes/). Dates are ISO strings. */
import type { AppRule } from '../../domain/ability';
import type { RankedCandidate } from '../../domain/assignment';
import type { LeadStatus, Priority, Role, TaskKind, TaskStatus, contactChannels } from '../../domain/lead';

export type ContactChannel = (typeof contactChannels)[number];

export interface User {
  id: string;
  email: string;
  name: string;
  role: Role;
  teamId: string | null;
  phone: string | null;
  active: boolean;
  capacity: number;
}

export interface Session {
  user: User;
  rules: AppRule[];
}

export interface Person {
  id: string;
  name: string;
  email: string;
}

export interface Lead {
  id: string;
  name: string;
  email: string | null;
  phone: string | null;
  source: string;
  status: LeadStatus;
  priority: Priority;
  escalationLevel: number;
  value: number | null;
  notes: string | null;
  team: { id: string; name: string };
  assignee: Person | null;
  firstContactAt: string | null;
  convertedAt: string | null;
  lostAt: string | null;
  lostReason: string | null;
  smsOptOut: boolean;
  emailOptOut: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface LeadPage {
  items: Lead[];
  total: number;
  page: number;
  pageSize: number;
}

export interface LeadQuery {
  status?: string;
  q?: string;
  assigneeId?: string;
  teamId?: string;
  createdFrom?: string;
  createdTo?: string;
  page?: number;
  pageSize?: number;
}

export interface NewLead {
  name: string;
  email?: string;
  phone?: string;
  source?: string;
  priority?: Priority;
  value?: number;
  notes?: string;
  teamId?: string;
}

export interface Deadline {
  kind: 'first_contact_sla' | 'escalation';
  step?: number;
  action?: string;
  at: string;
}

export type Candidate = RankedCandidate;

export interface AssignmentDecision {
  assigneeId: string | null;
  assigneeEmail: string | null;
  strategy: string;
  candidates: Candidate[];
  decidedAt: string;
}

/** The workflow's `explain` query: its clocks and its last assignment decision. */
export interface Explanation {
  leadId: string;
  status: LeadStatus;
  assigneeId: string | null;
  escalationLevel: number;
  policyVersion: number | null;
  deadlines: Deadline[];
  nextActionAt: string | null;
  lastAssignment: AssignmentDecision | null;
}

export interface WorkflowInfo {
  id: string;
  runId: string | null;
  /** Temporal's execution status name: RUNNING, COMPLETED, ..., or UNKNOWN when it cannot be reached. */
  status: string;
  explain: Explanation | null;
}

export interface TimelineEvent {
  kind: 'event';
  id: string;
  type: string;
  at: string;
  /** The workflow acts as `{ id: null, name: 'Workflow' }`. */
  actor: { id: string | null; name: string; email: string | null };
  policyVersion: number | null;
  data: Record<string, unknown>;
}

export interface TimelineMessage {
  kind: 'message';
  id: string;
  type: string;
  at: string;
  channel: 'sms' | 'email';
  direction: 'outbound' | 'inbound';
  to: string;
  status: string;
  body: string;
}

export type TimelineItem = TimelineEvent | TimelineMessage;

export interface Task {
  id: string;
  kind: TaskKind;
  title: string;
  dueAt: string;
  status: TaskStatus;
  outcome: string | null;
  assignee: { id: string; name: string } | null;
}

export interface LeadDetail {
  lead: Lead;
  workflow: WorkflowInfo;
  timeline: TimelineItem[];
  tasks: Task[];
  temporalUrl: string;
}

export interface ContactInput {
  channel: ContactChannel;
  outcome: string;
  notes?: string;
}

export interface ConvertInput {
  value?: number;
  notes?: string;
}

export interface LoseInput {
  reason: string;
}
