import { Connection } from '@temporalio/client';
import protoPackage, { type temporal as temporalProto } from '@temporalio/proto';
import { Router } from 'express';
import { systemStatusSchema, type SystemStatus, type TaskQueueBacklog, type TaskQueuePoller, type TaskType } from '../../domain/system.js';
import { requireAuth } from '../auth.js';
import type { RouteDeps } from '../deps.js';
import { AppError } from '../errors.js';
import { describeMembership } from '../temporalMembership.js';

// A CommonJS package: Node's ESM loader offers only its default export (Jest's transform hides this).
const proto = protoPackage.temporal;
const { TaskQueueType, TaskQueueKind } = proto.api.enums.v1;
const taskQueueTypes: Record<TaskType, temporalProto.api.enums.v1.TaskQueueType> = {
  workflow: TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
  activity: TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
};

/** Long enough for a loaded cluster, short enough that the page says something while Temporal is away. */
const TEMPORAL_TIMEOUT_MS = 5_000;

type Int64 = number | { toNumber(): number } | null | undefined;
const int64 = (value: Int64) => (value === null || value === undefined ? 0 : typeof value === 'number' ? value : value.toNumber());
const seconds = (duration: { seconds?: Int64; nanos?: number | null } | null | undefined) =>
  duration ? int64(duration.seconds) + (duration.nanos ?? 0) / 1e9 : null;

const reason = (error: unknown) => {
  const grpcError = error as { code?: number; details?: string; message?: string };
  return grpcError.details || grpcError.message || String(error);
};

export function systemRoutes({ temporal, config }: RouteDeps): Router {
  const router = Router();
  const { workflowService } = temporal.connection;
  // A client is typed with any connection-like object; the SDK's own Connection knows its address and TLS.
  const connection = temporal.connection instanceof Connection ? temporal.connection : null;
  const withDeadline = <T>(call: () => Promise<T>) => temporal.connection.withDeadline(Date.now() + TEMPORAL_TIMEOUT_MS, call);

  /**
   * Pollers and statistics of one task type of the lead queue. DEFAULT mode (apiMode unset) on server
   * 1.29 always lists the root partition's pollers (the others forward it the polls they have no task for) and with
   * `reportStats` sums the backlog over every partition and build; `reportPollers` only applies to the
   * deprecated ENHANCED mode, which would report one build's queue only. So: one call per task type.
   */
  const describeQueue = async (taskType: TaskType) => {
    const answer = await withDeadline(() =>
      workflowService.describeTaskQueue({
        namespace: config.TEMPORAL_NAMESPACE,
        taskQueue: { name: config.TEMPORAL_TASK_QUEUE, kind: TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
        taskQueueType: taskQueueTypes[taskType],
        reportStats: true,
      }),
    );
    const pollers = answer.pollers.map(
      (poller): TaskQueuePoller => ({
        identity: poller.identity ?? '',
        taskType,
        // Deployment options are how workers send it now; capabilities where a worker uses the older field.
        buildId: poller.deploymentOptions?.buildId || poller.workerVersionCapabilities?.buildId || null,
        lastAccessTime: poller.lastAccessTime ? new Date(seconds(poller.lastAccessTime)! * 1000).toISOString() : null,
      }),
    );
    const stats = answer.stats;
    const backlog: TaskQueueBacklog | null = stats
      ? {
          taskType,
          approximateBacklogCount: int64(stats.approximateBacklogCount),
          approximateBacklogAgeSeconds: seconds(stats.approximateBacklogAge) ?? 0,
          tasksAddRate: stats.tasksAddRate ?? 0,
          tasksDispatchRate: stats.tasksDispatchRate ?? 0,
        }
      : null;
    return { pollers, backlog };
  };

  router.get('/system', async (req, res) => {
    const auth = requireAuth(req);
    if (auth.ability.cannot('read', 'System')) throw new AppError(403, 'forbidden', 'You may not see the system');

    const [cluster, workflowQueue, activityQueue, membership] = await Promise.all([
      withDeadline(() => workflowService.getClusterInfo({})),
      describeQueue('workflow'),
      describeQueue('activity'),
      // Not every server lets a client call its AdminService (Temporal Cloud does not): say why instead of failing.
      connection
        ? describeMembership(connection, TEMPORAL_TIMEOUT_MS).then(
            (rings) => ({ rings, error: null }),
            (error: unknown) => ({ rings: null, error: `AdminService DescribeCluster failed: ${reason(error)}` }),
          )
        : { rings: null, error: 'The API’s Temporal client has no gRPC connection of its own to ask' },
    ]);

    const body: SystemStatus = {
      temporal: {
        address: connection?.options.address ?? '',
        namespace: config.TEMPORAL_NAMESPACE,
        serverVersion: cluster.serverVersion ?? '',
        clusterName: cluster.clusterName ?? '',
        historyShardCount: cluster.historyShardCount ?? 0,
        persistenceStore: cluster.persistenceStore ?? '',
        visibilityStore: cluster.visibilityStore ?? '',
      },
      membership: membership.rings,
      membershipError: membership.error,
      taskQueue: {
        name: config.TEMPORAL_TASK_QUEUE,
        pollers: [...workflowQueue.pollers, ...activityQueue.pollers],
        backlog: [workflowQueue.backlog, activityQueue.backlog].filter((backlog) => backlog !== null),
      },
      checkedAt: new Date().toISOString(),
    };
    res.json(body);
  });

  return router;
}

/** The response schema of this route, for the OpenAPI document. */
export const systemSchemas = { systemStatus: systemStatusSchema };
