/**
 * SNS-compatible topics: topics and their HTTP(S) subscriptions, and the SNS JSON envelope of every
 * delivery (SubscriptionConfirmation, Notification, UnsubscribeConfirmation), signed with
 * SignatureVersion 2 (SHA256withRSA) under the certificate served at `SigningCertURL`. Deliveries go
 * through the durable webhook table; the webhook worker POSTs them with retries.
 *
 * Behaviour follows the SNS API reference (CreateTopic, Subscribe, ConfirmSubscription, Publish, …)
 * and the SNS Developer Guide's "Parsing message formats" and "Fanout to HTTP/S endpoints" pages:
 * CreateTopic and DeleteTopic are idempotent, an HTTP(S) subscription stays pending until its
 * endpoint confirms with the token it was sent, a Publish fans one MessageId out to every confirmed
 * subscription.
 */
import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { snsStringToSign, type SnsMessageType } from '../../lib/sns-signature.ts';
import { StorageConflictError, type NamedRecord, type Storage, type SubscriptionRecord, type Tag, type WebhookRecord } from '../../storage/ports.ts';
import type { AccountsService, Principal } from '../accounts/service.ts';
import type { Clock } from '../clock.ts';
import { badRequest, notFound, SesError } from '../errors.ts';
import { decodeNextToken, encodeNextToken, page } from '../paging.ts';

/** Signs SNS envelopes; main supplies the key and the URL where its certificate is served. */
export interface SnsSigner {
  /** Absolute URL of the PEM certificate (SigningCertURL). */
  certUrl(): string;
  /** base64 SHA256withRSA signature of the string to sign. */
  sign(stringToSign: string): string;
}

/** Settings of the topics service. */
export interface TopicsSettings {
  region: string;
  /** Base of SubscribeURL and UnsubscribeURL (SESAME_PUBLIC_URL); read at each use, it may be set after start. */
  publicUrl: () => string;
  /** How long a delivery is retried before it is given up (ms). */
  retryWindowMs: number;
}

/** A topic's attributes as GetTopicAttributes shows them (all values are strings, as in SNS). */
export type TopicAttributes = Record<string, string>;

/** A subscription as ListSubscriptions shows it. */
export interface SubscriptionView {
  /** The subscription's ARN, or `PendingConfirmation` while it is pending (as SNS lists it). */
  subscriptionArn: string;
  owner: string;
  protocol: string;
  endpoint: string;
  topicArn: string;
}

/** One message attribute of a Publish (SNS `MessageAttributeValue`). */
export interface MessageAttributeInput {
  dataType?: string;
  stringValue?: string;
  /** base64, as the Query protocol carries blobs. */
  binaryValue?: string;
}

/** What Publish takes. */
export interface PublishInput {
  topicArn?: string;
  targetArn?: string;
  message?: string;
  subject?: string;
  messageStructure?: string;
  messageAttributes?: Record<string, MessageAttributeInput>;
}

/** What Subscribe takes. */
export interface SubscribeInput {
  topicArn?: string;
  protocol?: string;
  endpoint?: string;
  attributes?: Record<string, string>;
  returnSubscriptionArn?: boolean;
}

/** The topic document stored in `storage.topics` (data). */
interface TopicData {
  /** The settable attributes: DisplayName, Policy, DeliveryPolicy. */
  attributes: Record<string, string>;
  /** Subscriptions removed by Unsubscribe (GetTopicAttributes' SubscriptionsDeleted). */
  subscriptionsDeleted: number;
}

/** SNS: "Topic names must be made up of only uppercase and lowercase ASCII letters, numbers, underscores, and hyphens, and must be between 1 and 256 characters long." */
const TOPIC_NAME = /^[A-Za-z0-9_-]{1,256}$/;
/** SNS: a message (with its attributes) is at most 256 KB. */
const MAX_MESSAGE_BYTES = 262_144;
/** SNS: a Subject is at most 100 characters. */
const MAX_SUBJECT = 100;
/** SNS: a DisplayName is at most 100 characters. */
const MAX_DISPLAY_NAME = 100;
/** SNS: a topic policy is at most 30 KB. */
const MAX_POLICY_BYTES = 30_720;
/** SNS's default quota of standard topics per account. */
const MAX_TOPICS = 100_000;
/** SNS lists 100 topics or subscriptions per page. */
const PAGE_SIZE = 100;
const MAX_TAGS = 50;
/** The topic attributes a caller may set (SetTopicAttributes, CreateTopic's Attributes). */
const SETTABLE_TOPIC_ATTRIBUTES = ['DisplayName', 'Policy', 'DeliveryPolicy'];
/** The subscription attributes Sesame honours at Subscribe. */
const SUBSCRIPTION_ATTRIBUTES = ['RawMessageDelivery', 'DeliveryPolicy'];
const PROTOCOLS = ['http', 'https'] as const;
/** Message attribute names: SNS allows letters, digits, `_ - .`, up to 256, not starting with AWS. or Amazon. */
const ATTRIBUTE_NAME = /^[A-Za-z0-9_.-]{1,256}$/;

/**
 * SNS's default delivery policy for HTTP(S), as GetTopicAttributes shows it in
 * EffectiveDeliveryPolicy. Sesame's webhook worker retries on its own schedule within the retry
 * window instead (docs/operations.md); the attribute is returned so that clients that read it work.
 */
const DEFAULT_EFFECTIVE_DELIVERY_POLICY = JSON.stringify({
  http: {
    defaultHealthyRetryPolicy: { minDelayTarget: 20, maxDelayTarget: 20, numRetries: 3, numMaxDelayRetries: 0, numNoDelayRetries: 0, numMinDelayRetries: 0, backoffFunction: 'linear' },
    disableSubscriptionOverrides: false,
    defaultRequestPolicy: { headerContentType: 'text/plain; charset=UTF-8' },
  },
});

/** The string SNS answers Subscribe with for a subscription that waits for confirmation. */
export const PENDING_CONFIRMATION = 'pending confirmation';

const invalid = (what: string, reason?: string) => badRequest(reason ? `Invalid parameter: ${what} Reason: ${reason}` : `Invalid parameter: ${what}`);
const topicMissing = () => notFound('Topic does not exist');

/** Topics and subscriptions. */
export class TopicsService {
  /** Called after deliveries were stored (main wires the webhook worker's wake here). */
  onDeliveries: () => void = () => {};

  constructor(
    readonly storage: Storage,
    readonly accounts: AccountsService,
    readonly clock: Clock,
    readonly signer: SnsSigner,
    readonly settings: TopicsSettings,
  ) {}

  /** ARN of a topic. */
  arn(accountId: string, name: string): string {
    return `arn:aws:sns:${this.settings.region}:${accountId}:${name}`;
  }

  // --- topics ---

  /** CreateTopic: idempotent for the same name (with the same attributes and tags); returns the ARN. */
  async createTopic(p: Principal, input: { name?: string; attributes?: Record<string, string>; tags?: Array<{ key?: string; value?: string }> }): Promise<string> {
    const name = input.name;
    if (name === undefined || name === '') throw invalid('Topic Name', 'a topic name is required: 1 to 256 ASCII letters, digits, underscores and hyphens');
    if (name.endsWith('.fifo') || input.attributes?.FifoTopic === 'true') {
      throw invalid('Topic Name', 'FIFO topics are not supported by Sesame; create a standard topic (a name without the .fifo suffix)');
    }
    if (!TOPIC_NAME.test(name)) throw invalid('Topic Name', 'topic names are 1 to 256 ASCII letters, digits, underscores and hyphens');
    const arn = this.arn(p.accountId, name);
    this.accounts.authorize(p, { action: 'sns:CreateTopic', resource: arn });
    const attributes: Record<string, string> = {};
    for (const [k, v] of Object.entries(input.attributes ?? {})) {
      if (k === 'FifoTopic' && v === 'false') continue;
      if (!SETTABLE_TOPIC_ATTRIBUTES.includes(k)) {
        throw invalid('Attributes', `Sesame does not support the topic attribute ${k}; the supported ones are ${SETTABLE_TOPIC_ATTRIBUTES.join(', ')}`);
      }
      const value = checkTopicAttribute(k, v);
      if (value !== '') attributes[k] = value;
    }
    const tags = checkTags(input.tags);
    const now = this.clock.now();
    const existing = await this.storage.topics.get(p.accountId, name);
    if (existing) return this.sameTopic(p.accountId, existing, arn, attributes, input.attributes !== undefined, tags);
    if ((await this.storage.topics.count(p.accountId)) >= MAX_TOPICS) {
      throw new SesError('LimitExceededException', `An account can have at most ${MAX_TOPICS} topics.`);
    }
    const data: TopicData = { attributes, subscriptionsDeleted: 0 };
    try {
      await this.storage.topics.create({ accountId: p.accountId, name, data: data as unknown as Record<string, unknown>, createdAt: now, updatedAt: now });
    } catch (err) {
      if (!(err instanceof StorageConflictError)) throw err;
      // Created concurrently by another request: the same answer as when it already existed.
      const raced = await this.storage.topics.get(p.accountId, name);
      if (!raced) throw err;
      return this.sameTopic(p.accountId, raced, arn, attributes, input.attributes !== undefined, tags);
    }
    if (tags.length > 0) await this.storage.tags.put(p.accountId, arn, tags);
    return arn;
  }

  /** CreateTopic of an existing name: SNS returns its ARN unless the request asks for other attributes or tags. */
  private async sameTopic(accountId: string, existing: NamedRecord, arn: string, attributes: Record<string, string>, attributesGiven: boolean, tags: Tag[]): Promise<string> {
    const stored = topicData(existing).attributes;
    if (attributesGiven && Object.entries(attributes).some(([k, v]) => stored[k] !== v)) {
      throw invalid('Attributes', 'Topic already exists with different attributes');
    }
    if (tags.length > 0) {
      const have = new Map((await this.storage.tags.list(accountId, arn)).map((t) => [t.key, t.value]));
      if (have.size !== tags.length || tags.some((t) => have.get(t.key) !== t.value)) throw invalid('Tags', 'Topic already exists with different tags');
    }
    return arn;
  }

  /** DeleteTopic: removes the topic, its subscriptions and their pending deliveries. Idempotent, as in SNS. */
  async deleteTopic(p: Principal, topicArn: string | undefined): Promise<void> {
    const t = this.parseTopicArn(topicArn);
    this.accounts.authorize(p, { action: 'sns:DeleteTopic', resource: t.arn });
    if (t.accountId !== p.accountId) throw topicMissing();
    // The topic goes first, so that no Subscribe or Publish finds it while its subscriptions go.
    await this.storage.topics.delete(p.accountId, t.name);
    for (const s of await this.subscriptionsOf(p.accountId, t.name)) {
      await this.storage.webhooks.deleteBySubscription(s.id);
      await this.storage.subscriptions.delete(s.id);
    }
    await this.storage.subscriptions.deleteTopic(p.accountId, t.name);
    await this.storage.tags.removeAll(p.accountId, t.arn);
  }

  /** ListTopics: 100 ARNs per page, in name order. */
  async listTopics(p: Principal, nextToken?: string): Promise<{ topicArns: string[]; nextToken?: string }> {
    this.accounts.authorize(p, { action: 'sns:ListTopics', resource: '*' });
    const r = await page((after, limit) => this.storage.topics.list(p.accountId, { after, limit }), nextToken || undefined, PAGE_SIZE);
    return { topicArns: r.items.map((t) => this.arn(p.accountId, t.name)), nextToken: r.nextToken };
  }

  /** GetTopicAttributes. */
  async getTopicAttributes(p: Principal, topicArn: string | undefined): Promise<TopicAttributes> {
    const t = this.parseTopicArn(topicArn);
    this.accounts.authorize(p, { action: 'sns:GetTopicAttributes', resource: t.arn });
    const record = await this.loadTopic(p.accountId, t);
    const data = topicData(record);
    const subs = await this.subscriptionsOf(p.accountId, t.name);
    const out: TopicAttributes = {
      TopicArn: t.arn,
      Owner: p.accountId,
      DisplayName: data.attributes.DisplayName ?? '',
      Policy: data.attributes.Policy ?? defaultPolicy(t.arn, p.accountId),
      SubscriptionsConfirmed: String(subs.filter((s) => s.status === 'confirmed').length),
      SubscriptionsPending: String(subs.filter((s) => s.status === 'pending').length),
      SubscriptionsDeleted: String(data.subscriptionsDeleted),
      EffectiveDeliveryPolicy: data.attributes.DeliveryPolicy ?? DEFAULT_EFFECTIVE_DELIVERY_POLICY,
      // Every delivery is signed SHA256withRSA (SNS's SignatureVersion 2).
      SignatureVersion: '2',
    };
    if (data.attributes.DeliveryPolicy !== undefined) out.DeliveryPolicy = data.attributes.DeliveryPolicy;
    return out;
  }

  /** SetTopicAttributes: DisplayName, Policy or DeliveryPolicy (an empty value restores the default). */
  async setTopicAttributes(p: Principal, topicArn: string | undefined, name: string | undefined, value: string | undefined): Promise<void> {
    const t = this.parseTopicArn(topicArn);
    this.accounts.authorize(p, { action: 'sns:SetTopicAttributes', resource: t.arn });
    if (name === undefined || name === '') throw invalid('AttributeName');
    if (!SETTABLE_TOPIC_ATTRIBUTES.includes(name)) {
      throw invalid('AttributeName', `Sesame does not support the topic attribute ${name}; the settable ones are ${SETTABLE_TOPIC_ATTRIBUTES.join(', ')}`);
    }
    const v = checkTopicAttribute(name, value ?? '');
    await this.updateTopic(p.accountId, t, (data) => {
      if (v === '') delete data.attributes[name];
      else data.attributes[name] = v;
    });
  }

  // --- subscriptions ---

  /**
   * Subscribe: creates a pending HTTP(S) subscription and queues its SubscriptionConfirmation. The
   * same topic and endpoint again returns the existing subscription (and re-sends the confirmation
   * while it is still pending). Returns `pending confirmation` unless the subscription is confirmed
   * or `returnSubscriptionArn` is set.
   */
  async subscribe(p: Principal, input: SubscribeInput): Promise<string> {
    const t = this.parseTopicArn(input.topicArn);
    this.accounts.authorize(p, { action: 'sns:Subscribe', resource: t.arn });
    const protocol = input.protocol;
    if (protocol === undefined || protocol === '') throw invalid('Protocol', `a protocol is required; Sesame supports ${PROTOCOLS.join(' and ')}`);
    if (!(PROTOCOLS as readonly string[]).includes(protocol)) {
      throw invalid(`Sesame does not support this protocol string: ${protocol}`, `the supported protocols are ${PROTOCOLS.join(' and ')}`);
    }
    const endpoint = input.endpoint;
    if (endpoint === undefined || endpoint === '') throw invalid('Endpoint', `an ${protocol} URL is required`);
    if (!endpointMatches(protocol, endpoint)) throw invalid('Endpoint must match the specified protocol');
    const attributes: Record<string, string> = {};
    for (const [k, v] of Object.entries(input.attributes ?? {})) {
      if (!SUBSCRIPTION_ATTRIBUTES.includes(k)) {
        throw invalid('Attributes', `Sesame does not support the subscription attribute ${k}; the supported ones are ${SUBSCRIPTION_ATTRIBUTES.join(', ')}`);
      }
      if (k === 'RawMessageDelivery' && v !== 'true' && v !== 'false') throw invalid('Attributes', `RawMessageDelivery must be true or false, not ${v}`);
      if (k === 'DeliveryPolicy') checkJsonObject('DeliveryPolicy', v);
      attributes[k] = v;
    }
    await this.loadTopic(p.accountId, t);
    const existing = (await this.subscriptionsOf(p.accountId, t.name)).find((s) => s.endpoint === endpoint && s.protocol === protocol);
    if (existing) {
      if (Object.entries(attributes).some(([k, v]) => (existing.attributes[k] ?? (k === 'RawMessageDelivery' ? 'false' : undefined)) !== v)) {
        throw invalid('Attributes', 'Subscription already exists with different attributes');
      }
      if (existing.status === 'pending') await this.enqueue([this.confirmation('SubscriptionConfirmation', t.arn, existing)]);
      return existing.status === 'confirmed' || input.returnSubscriptionArn ? `${t.arn}:${existing.id}` : PENDING_CONFIRMATION;
    }
    const now = this.clock.now();
    const sub: SubscriptionRecord = {
      id: randomUUID(),
      accountId: p.accountId,
      topic: t.name,
      protocol: protocol as SubscriptionRecord['protocol'],
      endpoint,
      status: 'pending',
      token: randomBytes(128).toString('hex'),
      attributes,
      createdAt: now,
      updatedAt: now,
    };
    await this.storage.subscriptions.create(sub);
    await this.enqueue([this.confirmation('SubscriptionConfirmation', t.arn, sub)]);
    return input.returnSubscriptionArn ? `${t.arn}:${sub.id}` : PENDING_CONFIRMATION;
  }

  /**
   * ConfirmSubscription: the token sent in the SubscriptionConfirmation confirms the subscription
   * (idempotent). `p` is undefined for the unauthenticated SubscribeURL, where the token is the proof.
   */
  async confirmSubscription(p: Principal | undefined, topicArn: string | undefined, token: string | undefined): Promise<string> {
    const t = this.parseTopicArn(topicArn);
    if (p) this.accounts.authorize(p, { action: 'sns:ConfirmSubscription', resource: t.arn });
    if (token === undefined || token === '') throw invalid('Token');
    // The topic's account, not the caller's: SNS lets whoever holds the token confirm.
    if (!(await this.storage.topics.get(t.accountId, t.name))) throw topicMissing();
    const sub = (await this.subscriptionsOf(t.accountId, t.name)).find((s) => sameSecret(s.token, token));
    if (!sub) throw badRequest('Invalid token');
    if (sub.status !== 'confirmed') {
      const ok = await this.storage.subscriptions.update({ ...sub, status: 'confirmed', updatedAt: Math.max(this.clock.now(), sub.updatedAt + 1) });
      if (!ok) throw badRequest('Invalid token');
    }
    return `${t.arn}:${sub.id}`;
  }

  /**
   * Unsubscribe: deletes the subscription and its pending deliveries, and queues an
   * UnsubscribeConfirmation to a confirmed endpoint, as SNS does. Idempotent: an unknown
   * subscription changes nothing. `p` is undefined for the unauthenticated UnsubscribeURL.
   */
  async unsubscribe(p: Principal | undefined, subscriptionArn: string | undefined): Promise<void> {
    const s = this.parseSubscriptionArn(subscriptionArn);
    if (p) this.accounts.authorize(p, { action: 'sns:Unsubscribe', resource: s.topic.arn });
    const sub = await this.storage.subscriptions.get(s.id);
    if (!sub || sub.accountId !== s.topic.accountId || sub.topic !== s.topic.name || (p && sub.accountId !== p.accountId)) return;
    if (!(await this.storage.subscriptions.delete(sub.id))) return;
    await this.storage.webhooks.deleteBySubscription(sub.id);
    const topic = await this.storage.topics.get(sub.accountId, sub.topic);
    if (topic) {
      await this.updateTopic(sub.accountId, s.topic, (data) => {
        data.subscriptionsDeleted += 1;
      }).catch(() => undefined);
    }
    if (sub.status === 'confirmed') await this.enqueue([this.confirmation('UnsubscribeConfirmation', s.topic.arn, sub)]);
  }

  /** ListSubscriptions: 100 per page. */
  async listSubscriptions(p: Principal, nextToken?: string): Promise<{ subscriptions: SubscriptionView[]; nextToken?: string }> {
    this.accounts.authorize(p, { action: 'sns:ListSubscriptions', resource: '*' });
    return this.subscriptionPage(p.accountId, undefined, nextToken);
  }

  /** ListSubscriptionsByTopic: 100 per page; NotFound when the topic does not exist. */
  async listSubscriptionsByTopic(p: Principal, topicArn: string | undefined, nextToken?: string): Promise<{ subscriptions: SubscriptionView[]; nextToken?: string }> {
    const t = this.parseTopicArn(topicArn);
    this.accounts.authorize(p, { action: 'sns:ListSubscriptionsByTopic', resource: t.arn });
    await this.loadTopic(p.accountId, t);
    return this.subscriptionPage(p.accountId, t.name, nextToken);
  }

  private async subscriptionPage(accountId: string, topic: string | undefined, nextToken: string | undefined): Promise<{ subscriptions: SubscriptionView[]; nextToken?: string }> {
    const after = decodeNextToken(nextToken || undefined);
    const rows = await this.storage.subscriptions.list(accountId, { topic, after, limit: PAGE_SIZE + 1 });
    const items = rows.slice(0, PAGE_SIZE);
    const subscriptions = items.map((s) => {
      const topicArn = this.arn(s.accountId, s.topic);
      return { subscriptionArn: s.status === 'confirmed' ? `${topicArn}:${s.id}` : 'PendingConfirmation', owner: s.accountId, protocol: s.protocol, endpoint: s.endpoint, topicArn };
    });
    return { subscriptions, nextToken: rows.length > PAGE_SIZE ? encodeNextToken(items[items.length - 1]!.id) : undefined };
  }

  // --- publishing ---

  /**
   * The deliveries that publishing `message` to a topic makes (one signed Notification per confirmed
   * subscription), without storing them: the event dispatcher stores them in the same transaction
   * that marks its events published. An unknown topic, or one of another account, yields none.
   */
  async deliveriesFor(accountId: string, topicArn: string, message: string, subject?: string): Promise<WebhookRecord[]> {
    let t: TopicRef;
    try {
      t = this.parseTopicArn(topicArn);
    } catch {
      return [];
    }
    if (t.accountId !== accountId || !(await this.storage.topics.get(accountId, t.name))) return [];
    return this.notifications(t, await this.subscriptionsOf(accountId, t.name), randomUUID(), { message, subject });
  }

  /** Publish (the API): validates, stores the deliveries; returns the MessageId. */
  async publish(p: Principal, input: PublishInput): Promise<string> {
    if (input.topicArn !== undefined && input.targetArn !== undefined && input.topicArn !== input.targetArn) {
      throw invalid('TopicArn or TargetArn', 'only one of TopicArn and TargetArn may be given');
    }
    const arn = input.topicArn ?? input.targetArn;
    if (arn === undefined || arn === '') throw invalid('TopicArn or TargetArn', 'no value for required parameter');
    const t = this.parseTopicArn(arn, input.topicArn !== undefined ? 'TopicArn' : 'TargetArn');
    this.accounts.authorize(p, { action: 'sns:Publish', resource: t.arn });
    const message = input.message;
    if (message === undefined || message === '') throw invalid('Empty message');
    const subject = input.subject;
    if (subject !== undefined) {
      // SNS: ASCII text that begins with a letter, number or punctuation mark, no line breaks or control characters, under 100 characters.
      // eslint-disable-next-line no-control-regex
      if (subject === '' || subject.length > MAX_SUBJECT || /[\x00-\x1f\x7f]/.test(subject) || /^\s/.test(subject)) {
        throw invalid('Subject', `a Subject is 1 to ${MAX_SUBJECT} characters without line breaks or control characters, and does not start with a space`);
      }
    }
    let perProtocol: Record<string, string> | undefined;
    if (input.messageStructure !== undefined) {
      if (input.messageStructure !== 'json') throw invalid('MessageStructure', `the only MessageStructure is json, not ${input.messageStructure}`);
      perProtocol = structuredMessage(message);
    }
    const attributes = checkMessageAttributes(input.messageAttributes ?? {});
    const size = Buffer.byteLength(message) + Object.entries(attributes).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v.Type) + Buffer.byteLength(v.Value), 0);
    if (size > MAX_MESSAGE_BYTES) throw invalid('Message too long', `a message with its attributes is at most ${MAX_MESSAGE_BYTES} bytes; this one is ${size}`);
    await this.loadTopic(p.accountId, t);
    const messageId = randomUUID();
    const rows = this.notifications(t, await this.subscriptionsOf(p.accountId, t.name), messageId, { message, subject, perProtocol, attributes });
    await this.enqueue(rows);
    return messageId;
  }

  // --- envelopes ---

  /** One signed Notification per confirmed subscription (or the raw body where RawMessageDelivery is true). */
  private notifications(
    t: TopicRef,
    subs: SubscriptionRecord[],
    messageId: string,
    m: { message: string; subject?: string; perProtocol?: Record<string, string>; attributes?: Record<string, { Type: string; Value: string }> },
  ): WebhookRecord[] {
    const timestamp = new Date(this.clock.now()).toISOString();
    const out: WebhookRecord[] = [];
    // Subscribers with the same protocol get the same envelope, so it is signed once per protocol.
    const envelopes = new Map<string, Record<string, unknown>>();
    for (const s of subs) {
      if (s.status !== 'confirmed') continue;
      const subscriptionArn = `${t.arn}:${s.id}`;
      const message = m.perProtocol ? (m.perProtocol[s.protocol] ?? m.perProtocol.default!) : m.message;
      const headers = this.headers('Notification', messageId, t.arn, subscriptionArn);
      if (s.attributes.RawMessageDelivery === 'true') {
        out.push(this.row(s, { ...headers, 'x-amz-sns-rawdelivery': 'true' }, message));
        continue;
      }
      // The signed fields do not include UnsubscribeURL, so one signature serves every subscriber of a protocol.
      let signed = envelopes.get(s.protocol);
      if (!signed) {
        const fields: Record<string, string | undefined> = { Type: 'Notification', MessageId: messageId, TopicArn: t.arn, Subject: m.subject, Message: message, Timestamp: timestamp };
        signed = { ...this.signed(fields) };
        envelopes.set(s.protocol, signed);
      }
      // Field order as SNS: …, SigningCertURL, UnsubscribeURL, MessageAttributes.
      const body: Record<string, unknown> = { ...signed, UnsubscribeURL: `${this.base()}/?Action=Unsubscribe&SubscriptionArn=${subscriptionArn}` };
      if (m.attributes && Object.keys(m.attributes).length > 0) body.MessageAttributes = m.attributes;
      out.push(this.row(s, headers, snsJson(body)));
    }
    return out;
  }

  /** A SubscriptionConfirmation or UnsubscribeConfirmation for one subscription. */
  private confirmation(type: 'SubscriptionConfirmation' | 'UnsubscribeConfirmation', topicArn: string, s: SubscriptionRecord): WebhookRecord {
    const subscriptionArn = `${topicArn}:${s.id}`;
    const message =
      type === 'SubscriptionConfirmation'
        ? `You have chosen to subscribe to the topic ${topicArn}.\nTo confirm the subscription, visit the SubscribeURL included in this message.`
        : `You have chosen to deactivate subscription ${subscriptionArn}.\nTo cancel this operation and restore the subscription, visit the SubscribeURL included in this message.`;
    const messageId = randomUUID();
    const body = this.signed({
      Type: type,
      MessageId: messageId,
      Token: s.token,
      TopicArn: topicArn,
      Message: message,
      SubscribeURL: `${this.base()}/?Action=ConfirmSubscription&TopicArn=${topicArn}&Token=${s.token}`,
      Timestamp: new Date(this.clock.now()).toISOString(),
    });
    // SNS names the subscription only on notifications and unsubscribe confirmations (a pending one has no ARN yet).
    const headers = this.headers(type, messageId, topicArn, type === 'UnsubscribeConfirmation' ? subscriptionArn : undefined);
    return this.row(s, headers, snsJson(body));
  }

  /** The fields with SignatureVersion, Signature and SigningCertURL appended, in SNS's order. */
  private signed(fields: Record<string, string | undefined>): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(fields)) if (v !== undefined) out[k] = v;
    out.SignatureVersion = '2';
    out.Signature = this.signer.sign(snsStringToSign(out));
    out.SigningCertURL = this.signer.certUrl();
    return out;
  }

  /** The HTTP headers SNS sends with a message (SNS Developer Guide, "HTTP/HTTPS headers"). */
  private headers(type: SnsMessageType, messageId: string, topicArn: string, subscriptionArn: string | undefined): Record<string, string> {
    const h: Record<string, string> = {
      'x-amz-sns-message-type': type,
      'x-amz-sns-message-id': messageId,
      'x-amz-sns-topic-arn': topicArn,
    };
    if (subscriptionArn) h['x-amz-sns-subscription-arn'] = subscriptionArn;
    h['Content-Type'] = 'text/plain; charset=UTF-8';
    h['User-Agent'] = 'Amazon Simple Notification Service Agent';
    return h;
  }

  private row(s: SubscriptionRecord, headers: Record<string, string>, body: string): WebhookRecord {
    const now = this.clock.now();
    return {
      accountId: s.accountId,
      kind: 'sns',
      url: s.endpoint,
      subscriptionId: s.id,
      headers,
      body,
      attempts: 0,
      nextAttemptAt: now,
      expiresAt: now + this.settings.retryWindowMs,
      createdAt: now,
      lastError: null,
    };
  }

  private async enqueue(rows: WebhookRecord[]): Promise<void> {
    if (rows.length === 0) return;
    await this.storage.webhooks.enqueue(rows);
    this.onDeliveries();
  }

  private base(): string {
    return this.settings.publicUrl().replace(/\/+$/, '');
  }

  // --- lookups ---

  /** Parses a topic ARN of this region; InvalidParameter when it is not one. */
  private parseTopicArn(arn: string | undefined, param = 'TopicArn'): TopicRef {
    if (arn === undefined || arn === '') throw invalid(param, 'no value for required parameter');
    const parts = arn.split(':');
    if (parts.length < 6) throw invalid(param, `An ARN must have at least 6 elements, not ${parts.length}`);
    const [prefix, partition, service, region, accountId, ...rest] = parts;
    const name = rest.join(':');
    if (prefix !== 'arn' || partition !== 'aws' || service !== 'sns' || !/^\d{12}$/.test(accountId!) || !TOPIC_NAME.test(name)) {
      throw invalid(param, `${arn} is not a topic ARN (arn:aws:sns:${this.settings.region}:<account>:<topic name>)`);
    }
    // A topic of another region cannot be reached through this endpoint, as in SNS.
    if (region !== this.settings.region) throw invalid(param, `the topic is not in this region (${this.settings.region})`);
    return { accountId: accountId!, name, arn };
  }

  /** Parses a subscription ARN (`<topic ARN>:<id>`). */
  private parseSubscriptionArn(arn: string | undefined): { topic: TopicRef; id: string } {
    if (arn === undefined || arn === '') throw invalid('SubscriptionArn', 'no value for required parameter');
    const i = arn.lastIndexOf(':');
    const id = arn.slice(i + 1);
    let topic: TopicRef;
    try {
      topic = this.parseTopicArn(arn.slice(0, i));
    } catch {
      throw invalid('SubscriptionArn');
    }
    if (i < 0 || !/^[0-9a-f-]{36}$/.test(id)) throw invalid('SubscriptionArn');
    return { topic, id };
  }

  /** The topic record in the caller's account; NotFound otherwise. */
  private async loadTopic(accountId: string, t: TopicRef): Promise<NamedRecord> {
    if (t.accountId !== accountId) throw topicMissing();
    const record = await this.storage.topics.get(accountId, t.name);
    if (!record) throw topicMissing();
    return record;
  }

  /** Changes a topic's data with compare-and-swap, so two concurrent changes never lose one. */
  private async updateTopic(accountId: string, t: TopicRef, change: (data: TopicData) => void): Promise<void> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const record = await this.loadTopic(accountId, t);
      const data = structuredClone(topicData(record));
      change(data);
      const next = { ...record, data: data as unknown as Record<string, unknown>, updatedAt: Math.max(this.clock.now(), record.updatedAt + 1) };
      if (await this.storage.topics.swap(next, record.updatedAt)) return;
    }
    throw new SesError('ConflictException', 'The topic is being changed by another request; try again.');
  }

  /** Every subscription of a topic. */
  private async subscriptionsOf(accountId: string, topic: string): Promise<SubscriptionRecord[]> {
    const out: SubscriptionRecord[] = [];
    let after: string | undefined;
    for (;;) {
      const batch = await this.storage.subscriptions.list(accountId, { topic, after, limit: 1000 });
      out.push(...batch);
      if (batch.length < 1000) return out;
      after = batch[batch.length - 1]!.id;
    }
  }
}

/** A parsed topic ARN. */
interface TopicRef {
  accountId: string;
  name: string;
  arn: string;
}

function topicData(r: NamedRecord): TopicData {
  const d = r.data as Partial<TopicData>;
  return { attributes: { ...(d.attributes ?? {}) }, subscriptionsDeleted: d.subscriptionsDeleted ?? 0 };
}

/** SNS's default topic policy: the owner account may do everything with the topic. */
function defaultPolicy(topicArn: string, accountId: string): string {
  return JSON.stringify({
    Version: '2008-10-17',
    Id: '__default_policy_ID',
    Statement: [
      {
        Sid: '__default_statement_ID',
        Effect: 'Allow',
        Principal: { AWS: '*' },
        Action: ['SNS:GetTopicAttributes', 'SNS:SetTopicAttributes', 'SNS:AddPermission', 'SNS:RemovePermission', 'SNS:DeleteTopic', 'SNS:Subscribe', 'SNS:ListSubscriptionsByTopic', 'SNS:Publish'],
        Resource: topicArn,
        Condition: { StringEquals: { 'AWS:SourceOwner': accountId } },
      },
    ],
  });
}

/** Validates a settable topic attribute; returns its value. */
function checkTopicAttribute(name: string, value: string): string {
  if (name === 'DisplayName') {
    // eslint-disable-next-line no-control-regex
    if (value.length > MAX_DISPLAY_NAME || /[\x00-\x1f\x7f]/.test(value)) throw invalid('DisplayName', `a DisplayName is at most ${MAX_DISPLAY_NAME} characters without control characters`);
    return value;
  }
  if (value === '') return value;
  if (name === 'Policy' && Buffer.byteLength(value) > MAX_POLICY_BYTES) throw invalid('Policy', `a topic policy is at most ${MAX_POLICY_BYTES} bytes`);
  checkJsonObject(name, value);
  return value;
}

function checkJsonObject(name: string, value: string): void {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw invalid(name, `${name} must be a JSON object`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw invalid(name, `${name} must be a JSON object`);
}

function checkTags(raw: Array<{ key?: string; value?: string }> | undefined): Tag[] {
  if (!raw || raw.length === 0) return [];
  if (raw.length > MAX_TAGS) throw invalid('Tags', `a topic can have at most ${MAX_TAGS} tags`);
  const seen = new Set<string>();
  return raw.map((t) => {
    const key = t.key ?? '';
    if (key.length < 1 || key.length > 128) throw invalid('Tags', 'a tag Key is 1 to 128 characters');
    if (key.toLowerCase().startsWith('aws:')) throw invalid('Tags', 'tag keys cannot start with aws:');
    const value = t.value ?? '';
    if (value.length > 256) throw invalid('Tags', 'a tag Value is at most 256 characters');
    if (seen.has(key)) throw invalid('Tags', `Duplicated keys are not allowed: ${key}`);
    seen.add(key);
    return { key, value };
  });
}

/** Whether an endpoint is an absolute URL of the protocol's scheme. */
function endpointMatches(protocol: string, endpoint: string): boolean {
  if (endpoint.length > 2048) return false;
  try {
    const u = new URL(endpoint);
    return u.protocol === `${protocol}:` && u.hostname !== '';
  } catch {
    return false;
  }
}

/** MessageStructure=json: an object of strings with a `default` key (non-string values are ignored, as in SNS). */
function structuredMessage(message: string): Record<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(message);
  } catch {
    throw invalid('Message Structure - JSON message body failed to parse');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw invalid('Message Structure - JSON message body failed to parse');
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(parsed)) if (typeof v === 'string') out[k] = v;
  if (out.default === undefined) throw invalid('Message Structure - No default entry in JSON message body');
  return out;
}

/** Validates message attributes; returns them in the envelope's shape (`{Type, Value}`). */
function checkMessageAttributes(raw: Record<string, MessageAttributeInput>): Record<string, { Type: string; Value: string }> {
  const entries = Object.entries(raw);
  if (entries.length > 10) throw invalid('MessageAttributes', 'a message can have at most 10 attributes');
  const out: Record<string, { Type: string; Value: string }> = {};
  for (const [name, a] of entries) {
    if (!ATTRIBUTE_NAME.test(name) || /^(aws|amazon)\./i.test(name) || name.startsWith('.') || name.endsWith('.') || name.includes('..')) {
      throw invalid('MessageAttributes', `the attribute name ${name} is not valid: 1 to 256 letters, digits, _ - and ., not starting with AWS. or Amazon.`);
    }
    const type = a.dataType ?? '';
    const base = type.split('.')[0];
    if (type === '' || (base !== 'String' && base !== 'Number' && base !== 'Binary')) {
      throw invalid('MessageAttributes', `the message attribute '${name}' has an invalid message attribute type; the supported type prefixes are Binary, Number and String`);
    }
    const value = base === 'Binary' ? a.binaryValue : a.stringValue;
    if (value === undefined || value === '') throw invalid('MessageAttributes', `the message attribute '${name}' must contain a non-empty value of type ${base}`);
    if (base === 'Number' && !Number.isFinite(Number(value))) throw invalid('MessageAttributes', `could not cast message attribute '${name}' value to number`);
    if (type === 'String.Array') {
      let parsed: unknown;
      try {
        parsed = JSON.parse(value);
      } catch {
        parsed = undefined;
      }
      if (!Array.isArray(parsed)) throw invalid('MessageAttributes', `the message attribute '${name}' of type String.Array must be a JSON array`);
    }
    out[name] = { Type: type, Value: value };
  }
  return out;
}

/**
 * The envelope as SNS writes it: one `"Name" : value` line per field, in order, and each message
 * attribute on its own line (`"name" : {"Type":"String","Value":"…"}`).
 */
function snsJson(fields: Record<string, unknown>): string {
  const lines = Object.entries(fields).map(([k, v]) => {
    if (k === 'MessageAttributes' && typeof v === 'object' && v !== null) {
      const inner = Object.entries(v).map(([n, a]) => `    ${JSON.stringify(n)} : ${JSON.stringify(a)}`);
      return `  ${JSON.stringify(k)} : {\n${inner.join(',\n')}\n  }`;
    }
    return `  ${JSON.stringify(k)} : ${JSON.stringify(v)}`;
  });
  return `{\n${lines.join(',\n')}\n}`;
}

/** Compares two secrets in constant time. */
function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
