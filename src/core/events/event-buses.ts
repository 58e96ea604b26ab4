/**
 * Event buses: where `EventBridgeDestination`s deliver on a self-hosted install. No EventBridge
 * runs here, so an operator registers each bus name with the URL of a webhook
 * (`sesame event-buses create NAME --url URL`); events then arrive there as EventBridge's event
 * envelope (`detail-type` "Email Delivered", `source` "aws.ses", `detail` the SES event), signed
 * with HMAC-SHA256 under the bus's secret: header `X-Sesame-Signature: v1=<hex>` over
 * `<X-Sesame-Timestamp>.<body>`.
 */
import { randomBytes } from 'node:crypto';
import type { SecretBox } from '../../lib/secretbox.ts';
import type { Storage } from '../../storage/ports.ts';
import { StorageConflictError } from '../../storage/ports.ts';
import type { Clock } from '../clock.ts';
import { badRequest, notFound, SesError } from '../errors.ts';
import { allNamed } from '../paging.ts';

/** A registered bus (never with its secret). */
export interface EventBus {
  name: string;
  arn: string;
  url: string;
  createdAt: number;
}

const NAME = /^[A-Za-z0-9._-]{1,256}$/;

/** Operator management of event buses. */
export class EventBusesService {
  constructor(
    private readonly storage: Storage,
    private readonly box: SecretBox,
    private readonly clock: Clock,
    private readonly region: string,
  ) {}

  /** ARN of a bus, as EventBridgeDestination.EventBusArn names it. */
  arn(accountId: string, name: string): string {
    return `arn:aws:events:${this.region}:${accountId}:event-bus/${name}`;
  }

  /** Registers a bus; returns it with its signing secret (shown once). */
  async create(accountId: string, name: string, url: string): Promise<EventBus & { secret: string }> {
    if (!NAME.test(name)) throw badRequest('An event bus name is 1 to 256 letters, digits, dots, dashes or underscores.');
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw badRequest(`"${url}" is not a URL.`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw badRequest('The webhook URL must be http or https.');
    const secret = randomBytes(32).toString('base64url');
    const now = this.clock.now();
    try {
      await this.storage.eventBuses.create({ accountId, name, data: { url: u.toString(), secretSealed: this.box.seal(secret, `event-bus:${accountId}:${name}`) }, createdAt: now, updatedAt: now });
    } catch (err) {
      if (err instanceof StorageConflictError) throw new SesError('AlreadyExistsException', `Event bus ${name} already exists; delete it first to change its URL.`);
      throw err;
    }
    return { name, arn: this.arn(accountId, name), url: u.toString(), createdAt: now, secret };
  }

  /** The account's buses in name order. */
  async list(accountId: string): Promise<EventBus[]> {
    return (await allNamed(this.storage.eventBuses, accountId)).map((r) => ({ name: r.name, arn: this.arn(accountId, r.name), url: (r.data as { url: string }).url, createdAt: r.createdAt }));
  }

  /** Removes a bus; events for it are then logged and skipped. */
  async delete(accountId: string, name: string): Promise<void> {
    if (!(await this.storage.eventBuses.delete(accountId, name))) throw notFound(`Event bus ${name} does not exist.`);
  }
}
