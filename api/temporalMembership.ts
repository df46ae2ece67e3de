import * as grpc from '@grpc/grpc-js';
import type { Connection } from '@temporalio/client';
import protobuf from 'protobufjs';
import type { ServiceRing } from '../domain/system.js';

/**
 * The part of the server's AdminService `DescribeClusterResponse` that says who is in the cluster. The
 * SDK's proto bundle has no AdminService, so these few fields are declared here; the numbers are the
 * server's own (temporal/server/api/adminservice/v1/request_response.proto and cluster/v1/message.proto,
 * v1.29.1), and every field left out is skipped when decoding.
 */
const describeClusterResponse = protobuf
  .parse(
    `syntax = "proto3";
    message DescribeClusterResponse { MembershipInfo membership_info = 3; }
    message MembershipInfo { repeated RingInfo rings = 3; }
    message RingInfo { string role = 1; int32 member_count = 2; repeated HostInfo members = 3; }
    message HostInfo { string identity = 1; }`,
    { keepCase: false },
  )
  .root.lookupType('DescribeClusterResponse');

const DESCRIBE_CLUSTER = '/temporal.server.api.adminservice.v1.AdminService/DescribeCluster';

interface DecodedMembership {
  membershipInfo?: { rings?: { role?: string; members?: { identity?: string }[] }[] };
}

const roleOrder = ['frontend', 'internal-frontend', 'history', 'matching', 'worker'];
const byRole = (a: ServiceRing, b: ServiceRing) =>
  (roleOrder.indexOf(a.role) + 1 || 99) - (roleOrder.indexOf(b.role) + 1 || 99) || a.role.localeCompare(b.role);

/**
 * Each service role of the cluster and its members, from AdminService DescribeCluster on the server the
 * connection talks to (its address, TLS and static headers; a server behind an API key may refuse it).
 * A channel of its own for each call, closed after: this is asked every few seconds at most.
 */
export function describeMembership(connection: Connection, timeoutMs = 5_000): Promise<ServiceRing[]> {
  const { address, credentials, channelArgs, metadata } = connection.options;
  const client = new grpc.Client(address, credentials, channelArgs);
  const headers = new grpc.Metadata();
  for (const [key, value] of Object.entries(metadata)) headers.set(key, value);
  return new Promise<ServiceRing[]>((resolve, reject) => {
    client.makeUnaryRequest(
      DESCRIBE_CLUSTER,
      // An empty DescribeClusterRequest: no cluster name means the cluster answering.
      () => Buffer.alloc(0),
      (bytes: Buffer) => describeClusterResponse.toObject(describeClusterResponse.decode(bytes), { defaults: true }) as DecodedMembership,
      {},
      headers,
      { deadline: Date.now() + timeoutMs },
      (error, response) => {
        if (error || !response) return reject(error ?? new Error('DescribeCluster gave no answer'));
        const rings = (response.membershipInfo?.rings ?? []).map((ring) => ({
          role: ring.role ?? '',
          members: (ring.members ?? []).map((member) => ({ identity: member.identity ?? '' })).sort((a, b) => a.identity.localeCompare(b.identity)),
        }));
        resolve(rings.sort(byRole));
      },
    );
  }).finally(() => client.close());
}
