/**
 * Tags on SES resources (TagResource, UntagResource, ListTagsForResource). The resource must exist
 * in the caller's account; SES's limits apply: at most 50 tags, keys 1-128 and values 0-256 characters.
 */
import type { Storage, Tag } from '../../storage/ports.ts';
import type { AccountsService, Principal } from '../accounts/service.ts';
import { parseSesArn } from '../arn.ts';
import { badRequest, notFound } from '../errors.ts';

/** Tells whether a resource (by type and name) exists in an account. */
export type ResourceExists = (accountId: string, resourceType: string, resourceName: string) => Promise<boolean>;

const MAX_TAGS = 50;
const TAG_CHARS = /^[\p{L}\p{N}\p{Zs}_.:/=+\-@]*$/u;

/** Tags service. */
export class TagsService {
  private readonly resolvers = new Map<string, ResourceExists>();

  constructor(
    private readonly storage: Storage,
    private readonly accounts: AccountsService,
    private readonly region: string,
  ) {}

  /** Registers a resource type that can carry tags (e.g. `identity`). */
  registerResourceType(resourceType: string, exists: ResourceExists): void {
    this.resolvers.set(resourceType, exists);
  }

  /** Validates tags given as SES's `[{Key, Value}]`; throws BadRequest. */
  validate(raw: unknown): Tag[] {
    if (raw === undefined || raw === null) return [];
    if (!Array.isArray(raw)) throw badRequest('Tags must be a list of {Key, Value}.');
    if (raw.length > MAX_TAGS) throw badRequest(`A resource can have at most ${MAX_TAGS} tags.`);
    const seen = new Set<string>();
    return raw.map((t: unknown) => {
      const { Key, Value } = (t ?? {}) as { Key?: unknown; Value?: unknown };
      if (typeof Key !== 'string' || Key.length < 1 || Key.length > 128) throw badRequest('Tag Key must be 1 to 128 characters.');
      // SES (as AWS tagging generally): letters, digits, spaces and _ . : / = + - @.
      if (!TAG_CHARS.test(Key)) throw badRequest('Tag Key may hold only letters, digits, spaces and _ . : / = + - @.');
      if (typeof Value === 'string' && !TAG_CHARS.test(Value)) throw badRequest('Tag Value may hold only letters, digits, spaces and _ . : / = + - @.');
      if (Key.toLowerCase().startsWith('aws:')) throw badRequest('Tag keys cannot start with "aws:".');
      if (Value !== undefined && (typeof Value !== 'string' || Value.length > 256)) throw badRequest('Tag Value must be at most 256 characters.');
      if (seen.has(Key)) throw badRequest(`Duplicate tag key ${Key}.`);
      seen.add(Key);
      return { key: Key, value: (Value as string | undefined) ?? '' };
    });
  }

  /** Adds or overwrites tags of a resource. */
  async tag(p: Principal, resourceArn: unknown, rawTags: unknown): Promise<void> {
    const arn = await this.requireResource(p, resourceArn, 'ses:TagResource');
    const tags = this.validate(rawTags);
    if (tags.length === 0) throw badRequest('Tags must hold at least one tag.');
    const existing = await this.storage.tags.list(p.accountId, arn);
    const keys = new Set([...existing.map((t) => t.key), ...tags.map((t) => t.key)]);
    if (keys.size > MAX_TAGS) throw badRequest(`A resource can have at most ${MAX_TAGS} tags.`);
    await this.storage.tags.put(p.accountId, arn, tags);
  }

  /** Removes tags by key. */
  async untag(p: Principal, resourceArn: unknown, keys: unknown): Promise<void> {
    const arn = await this.requireResource(p, resourceArn, 'ses:UntagResource');
    if (!Array.isArray(keys) || keys.length === 0 || !keys.every((k) => typeof k === 'string')) throw badRequest('TagKeys must list at least one key.');
    await this.storage.tags.remove(p.accountId, arn, keys as string[]);
  }

  /** Lists a resource's tags in the order they were first set. */
  async list(p: Principal, resourceArn: unknown): Promise<Tag[]> {
    const arn = await this.requireResource(p, resourceArn, 'ses:ListTagsForResource');
    return this.storage.tags.list(p.accountId, arn);
  }

  /** Tags of a resource without authorization (for GetEmailIdentity, which authorizes itself). */
  async listFor(accountId: string, arn: string): Promise<Tag[]> {
    return this.storage.tags.list(accountId, arn);
  }

  /** Stores already-validated tags (resource creation). */
  async putValidated(accountId: string, arn: string, tags: Tag[]): Promise<void> {
    await this.storage.tags.put(accountId, arn, tags);
  }

  /** Drops every tag of a deleted resource. */
  async removeAllFor(accountId: string, arn: string): Promise<void> {
    await this.storage.tags.removeAll(accountId, arn);
  }

  private async requireResource(p: Principal, resourceArn: unknown, action: string): Promise<string> {
    if (typeof resourceArn !== 'string' || resourceArn.length === 0) throw badRequest('ResourceArn is required.');
    // eslint-disable-next-line no-control-regex
    if (resourceArn.length > 1011 || /[\x00-\x1f\x7f]/.test(resourceArn)) throw badRequest(`Invalid ResourceArn.`);
    this.accounts.authorize(p, { action, resource: resourceArn });
    const parsed = parseSesArn(resourceArn);
    if (!parsed) throw badRequest(`Invalid ResourceArn ${resourceArn}.`);
    const exists = this.resolvers.get(parsed.resourceType);
    if (parsed.accountId !== p.accountId || parsed.region !== this.region || !exists || !(await exists(p.accountId, parsed.resourceType, parsed.resourceName))) {
      throw notFound(`Resource ${resourceArn} does not exist.`);
    }
    return resourceArn;
  }
}
