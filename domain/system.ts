import { z } from 'zod';

/**
 * What `GET /api/system` answers: the route is typed against it, the OpenAPI document is generated
 * from it and the web app takes its types from it.
 */

export const taskTypes = ['workflow', 'activity'] as const;
export type TaskType = (typeof taskTypes)[number];

const backlogSchema = z.object({
  taskType: z.enum(taskTypes),
  approximateBacklogCount: z.number().int().describe('Tasks waiting for a worker, over every partition of the queue'),
  approximateBacklogAgeSeconds: z.number().describe('How long the oldest waiting task has waited; 0 when none waits'),
  tasksAddRate: z.number().describe('Tasks added per second, lately'),
  tasksDispatchRate: z.number().describe('Tasks handed to workers per second, lately'),
});

const pollerSchema = z.object({
  identity: z.string().describe('The worker’s identity, by default pid@host'),
  taskType: z.enum(taskTypes),
  buildId: z.string().nullable().describe('The build the worker says it runs (LEADLINE_BUILD_ID, else version+commit)'),
  lastAccessTime: z.iso.datetime().nullable(),
});

const serviceRingSchema = z.object({
  role: z.string().describe('frontend, history, matching or worker'),
  members: z.array(z.object({ identity: z.string().describe('host:port') })),
});

export const systemStatusSchema = z.object({
  temporal: z.object({
    address: z.string(),
    namespace: z.string(),
    serverVersion: z.string(),
    clusterName: z.string(),
    historyShardCount: z.number().int(),
    persistenceStore: z.string().describe('e.g. sqlite (dev server) or postgres12'),
    visibilityStore: z.string(),
  }),
  membership: z.array(serviceRingSchema).nullable().describe('Each service role and its members; null where the server does not answer AdminService DescribeCluster'),
  membershipError: z.string().nullable().describe('Why membership is null'),
  taskQueue: z.object({
    name: z.string(),
    pollers: z.array(pollerSchema),
    backlog: z.array(backlogSchema).describe('One entry per task type the server reported statistics for'),
  }),
  checkedAt: z.iso.datetime(),
});

export type SystemStatus = z.infer<typeof systemStatusSchema>;
export type TaskQueuePoller = SystemStatus['taskQueue']['pollers'][number];
export type TaskQueueBacklog = SystemStatus['taskQueue']['backlog'][number];
export type ServiceRing = z.infer<typeof serviceRingSchema>;
