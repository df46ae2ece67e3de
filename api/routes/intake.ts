import { createHash, randomBytes } from 'node:crypto';
import { UniqueConstraintViolationException, type EntityManager } from '@mikro-orm/core';
import { Router, type Request } from 'express';
import { z } from 'zod';
import { leadWorkflowId } from '../../domain/lead.js';
import { ApiKeySchema, IntakeRequestSchema, TeamSchema, type ApiKey, type IntakeRequest } from '../../db/entities.js';
import { recordLeadEvent } from '../../db/timeline.js';
import { inboundMessageSignal } from '../../workflows/definitions.js';
import { requireAuth } from '../auth.js';
import type { RouteDeps } from '../deps.js';
import { AppError, notFound } from '../errors.js';
import { contactRequired, createLead, findOpenDuplicate, leadFields } from '../newLead.js';

const intakeBody = z.strictObject({ ...leadFields, source: leadFields.source.default('website') }).refine((body) => body.email || body.phone, contactRequired);
const idempotencyKey = z.string().trim().min(1).max(200);
const createKeyBody = z.strictObject({ teamId: z.uuid(), name: z.string().trim().min(1).max(100) });

const hashKey = (key: string) => createHash('sha256').update(key).digest('hex');

function keyView(key: ApiKey) {
  return { id: key.id, name: key.name, prefix: key.prefix, team: { id: key.team.id, name: key.team.name }, createdAt: key.createdAt, lastUsedAt: key.lastUsedAt ?? null, revokedAt: key.revokedAt ?? null };
}

/** The answer an intake request got, so a repeat with the same `Idempotency-Key` gets it again. */
function intakeAnswer(intake: IntakeRequest) {
  return { status: intake.outcome === 'created' ? 201 : 202, body: { lead: { id: intake.lead.id }, outcome: intake.outcome } };
}

async function apiKeyOf(em: EntityManager, req: Request): Promise<ApiKey> {
  const presented = req.header('x-api-key');
  const key = presented ? await em.findOne(ApiKeySchema, { keyHash: hashKey(presented), revokedAt: null }, { populate: ['team'] }) : null;
  if (!key) throw new AppError(401, 'invalid_api_key', 'Send a valid API key in the X-Api-Key header');
  return key;
}

export function intakeRoutes({ orm, temporal, config, metrics }: RouteDeps): Router {
  const router = Router();

  /**
   * Website and form intake. A new contact becomes a lead of the key's team (201); one that matches
   * an open lead by email or phone is merged into it: a timeline entry, and its workflow gives the
   * assignee a task to get back to them (202). `Idempotency-Key` makes a retried request a no-op
   * that returns the first answer.
   */
  router.post('/intake', async (req, res) => {
    const em = orm.em;
    const key = await apiKeyOf(em, req);
    const retryKey = req.header('idempotency-key');
    const parsedRetryKey = retryKey === undefined ? undefined : idempotencyKey.safeParse(retryKey);
    if (parsedRetryKey && !parsedRetryKey.success) {
      throw new AppError(400, 'validation_failed', 'Invalid input: Idempotency-Key', [{ path: 'Idempotency-Key', message: 'must be 1 to 200 characters' }]);
    }
    const repeatKey = parsedRetryKey?.data;
    const earlier = repeatKey ? await em.findOne(IntakeRequestSchema, { apiKey: key.id, idempotencyKey: repeatKey }) : null;
    if (earlier) {
      const { status, body } = intakeAnswer(earlier);
      res.status(status).set('Idempotent-Replayed', 'true').json(body);
      return;
    }
    const fields = intakeBody.parse(req.body);

    const run = () =>
      em.transactional(async (tx) => {
        const apiKey = await tx.findOneOrFail(ApiKeySchema, key.id);
        apiKey.lastUsedAt = new Date();
        const existing = await findOpenDuplicate(tx, fields.email, fields.phone);
        if (existing) {
          const intake = tx.create(IntakeRequestSchema, { apiKey, idempotencyKey: repeatKey ?? null, lead: existing, outcome: 'merged' });
          recordLeadEvent(tx, existing, { type: 'inquiry_merged', actorKind: 'system', data: { intakeId: intake.id, apiKey: key.name, fields } });
          await tx.flush();
          // Before commit: a merge the workflow never heard about is not recorded either.
          await temporal.workflow.getHandle(leadWorkflowId(existing.id)).signal(inboundMessageSignal, { messageId: intake.id, channel: 'form' });
          return intake;
        }
        const team = await tx.findOneOrFail(TeamSchema, key.team.id);
        const lead = await createLead(tx, temporal, config.TEMPORAL_TASK_QUEUE, { fields, team, actor: null, via: `api key ${key.name}` });
        return tx.create(IntakeRequestSchema, { apiKey, idempotencyKey: repeatKey ?? null, lead, outcome: 'created' });
      });

    let intake: IntakeRequest;
    try {
      intake = await run();
    } catch (error) {
      if (!(error instanceof UniqueConstraintViolationException)) throw error;
      // A race: the same Idempotency-Key, or another request that created this contact's lead, won. Answer as they did.
      const winner = repeatKey ? await orm.em.fork().findOne(IntakeRequestSchema, { apiKey: key.id, idempotencyKey: repeatKey }) : null;
      intake = winner ?? (await run());
    }
    if (intake.outcome === 'created') metrics.leadsCreated.inc();
    const { status, body } = intakeAnswer(intake);
    res.status(status).json(body);
  });

  router.get('/api-keys', async (req, res) => {
    const auth = requireAuth(req);
    if (auth.ability.cannot('manage', 'all')) throw new AppError(403, 'forbidden', 'Only admins manage API keys');
    const keys = await orm.em.find(ApiKeySchema, {}, { populate: ['team'], orderBy: { createdAt: 'desc' } });
    res.json({ items: keys.map(keyView) });
  });

  router.post('/api-keys', async (req, res) => {
    const auth = requireAuth(req);
    if (auth.ability.cannot('manage', 'all')) throw new AppError(403, 'forbidden', 'Only admins manage API keys');
    const body = createKeyBody.parse(req.body);
    const team = await orm.em.findOne(TeamSchema, body.teamId);
    if (!team) throw new AppError(400, 'validation_failed', 'Invalid input: teamId', [{ path: 'teamId', message: 'no such team' }]);
    const secret = `ll_${randomBytes(24).toString('base64url')}`;
    const key = orm.em.create(ApiKeySchema, { team, name: body.name, prefix: secret.slice(0, 10), keyHash: hashKey(secret), createdBy: auth.user });
    await orm.em.flush();
    // The only time the key is shown: only its hash is kept.
    res.status(201).json({ apiKey: keyView(key), key: secret });
  });

  router.delete('/api-keys/:id', async (req, res) => {
    const auth = requireAuth(req);
    if (auth.ability.cannot('manage', 'all')) throw new AppError(403, 'forbidden', 'Only admins manage API keys');
    const id = z.uuid().safeParse(req.params.id);
    const key = id.success ? await orm.em.findOne(ApiKeySchema, id.data, { populate: ['team'] }) : null;
    if (!key) throw notFound('API key');
    key.revokedAt ??= new Date();
    await orm.em.flush();
    res.json({ apiKey: keyView(key) });
  });

  return router;
}

/** The request schemas of these routes, for the OpenAPI document. */
export const intakeSchemas = { intakeBody, createKeyBody };
