/**
 * The console's "Access keys" page: list the account's keys, create one (its secret and SMTP
 * password are in that one answer only), revoke one, replace a key's policy. Core authorizes each
 * with the IAM action (`iam:ListAccessKeys`, `iam:CreateAccessKey`, `iam:UpdateAccessKey`,
 * `iam:PutUserPolicy`); IAM's refusals keep IAM's code here (`NoSuchEntity` 404,
 * `MalformedPolicyDocument` 400, `DeleteConflict` 409, `UnmodifiableEntity` 400, `InvalidInput` 400).
 */
import type { FastifyRequest } from 'fastify';
import type { AccessKeyInfo, Core } from '../../core/index.ts';
import { CONSOLE_API, json, type ConsoleKit } from './kit.ts';

/** A key as the list shows it: never its secret. */
function keyView(k: AccessKeyInfo, sessionKeyId: string) {
  return {
    accessKeyId: k.accessKeyId,
    description: k.description,
    status: k.status,
    isRoot: k.isRoot,
    createdAt: new Date(k.createdAt).toISOString(),
    policy: k.policy,
    thisSession: k.accessKeyId === sessionKeyId,
  };
}

export function registerKeysRoutes(kit: ConsoleKit, core: Core): void {
  const { app, route, session, logger } = kit;
  const keyId = (req: FastifyRequest) => (req.params as { id: string }).id;

  app.get(
    `${CONSOLE_API}/keys`,
    route(async (req) => {
      const s = await session(req);
      const keys = await core.accessKeys.list(s.principal);
      return { items: keys.map((k) => keyView(k, s.principal.accessKeyId)) };
    }),
  );

  app.post(
    `${CONSOLE_API}/keys`,
    route(async (req) => {
      const s = await session(req);
      const body = json(req.body);
      const k = await core.accessKeys.create(s.principal, { description: body.description, policy: body.policy });
      logger.info({ code: 'CONSOLE_KEY_CREATED', accessKeyId: k.accessKeyId, by: s.principal.accessKeyId, accountId: s.principal.accountId, ip: req.ip }, 'access key created in the console');
      return { ...keyView(k, s.principal.accessKeyId), secretAccessKey: k.secretAccessKey, smtpPassword: k.smtpPassword, region: k.region };
    }),
  );

  app.post(
    `${CONSOLE_API}/keys/:id/revoke`,
    route(async (req) => {
      const s = await session(req);
      const k = await core.accessKeys.revoke(s.principal, keyId(req));
      logger.info({ code: 'CONSOLE_KEY_REVOKED', accessKeyId: k.accessKeyId, by: s.principal.accessKeyId, accountId: s.principal.accountId, ip: req.ip }, 'access key revoked in the console');
      return keyView(k, s.principal.accessKeyId);
    }),
  );

  app.put(
    `${CONSOLE_API}/keys/:id/policy`,
    route(async (req) => {
      const s = await session(req);
      const body = json(req.body);
      const k = await core.accessKeys.putPolicy(s.principal, keyId(req), body.policy);
      logger.info({ code: 'CONSOLE_KEY_POLICY_CHANGED', accessKeyId: k.accessKeyId, by: s.principal.accessKeyId, accountId: s.principal.accountId, ip: req.ip }, 'access key policy replaced in the console');
      return keyView(k, s.principal.accessKeyId);
    }),
  );
}
