/**
 * Access keys managed by a signed-in principal (the web console's "Access keys" page): list,
 * create, revoke and edit the policy of the keys of the caller's own account. Each method is
 * authorized like IAM's own operation (`iam:ListAccessKeys`, `iam:CreateAccessKey`,
 * `iam:UpdateAccessKey`, `iam:PutUserPolicy`) and refuses with IAM's codes and wording. A key of
 * another account is answered as IAM answers an unknown one (NoSuchEntity), so key ids of other
 * accounts cannot be probed. Secrets are never listed: a new key's secret and SMTP password are
 * returned once, at creation.
 */
import { deriveSmtpPassword } from '../../lib/smtp-password.ts';
import type { AccessKeyRecord, Storage } from '../../storage/ports.ts';
import { callerArn } from '../arn.ts';
import { SesError, type ErrorCode } from '../errors.ts';
import { parsePolicy, type PolicyDocument } from './policy.ts';
import type { AccessKeyInfo, AccountsService, NewAccessKey, Principal } from './service.ts';

/** IAM's error codes that these operations raise, besides AccessDenied. */
export type IamErrorCode = 'NoSuchEntity' | 'MalformedPolicyDocument' | 'InvalidInput' | 'DeleteConflict' | 'UnmodifiableEntity';

/** The HTTP status IAM answers each code with. */
export const IAM_STATUS: Record<IamErrorCode, number> = { NoSuchEntity: 404, MalformedPolicyDocument: 400, InvalidInput: 400, DeleteConflict: 409, UnmodifiableEntity: 400 };

/** The closest code of core's catalogue, for front ends that know only the catalogue. */
const CATALOGUE: Record<IamErrorCode, ErrorCode> = {
  NoSuchEntity: 'NotFoundException',
  MalformedPolicyDocument: 'BadRequestException',
  InvalidInput: 'BadRequestException',
  DeleteConflict: 'ConflictException',
  UnmodifiableEntity: 'BadRequestException',
};

/** An IAM refusal: an SesError of the nearest catalogue code that carries IAM's own code. */
export class IamError extends SesError {
  constructor(
    readonly iamCode: IamErrorCode,
    message: string,
  ) {
    super(CATALOGUE[iamCode], message, iamCode);
  }
}

/** A created key: its secret and SMTP password, shown once. */
export interface CreatedAccessKey extends NewAccessKey {
  /** The SES SMTP password derived from the secret for `region`. */
  smtpPassword: string;
  region: string;
}

/** Longest description and policy text accepted (IAM: 1,000-character tag values; 2,048-character inline user policies — Sesame allows more). */
export const MAX_DESCRIPTION = 256;
export const MAX_POLICY_CHARS = 10_240;

/** The policy a key gets when none is given: all of SES (as `sesame keys create`). */
const DEFAULT_POLICY = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'ses:*', Resource: '*' }] };

export class AccessKeysAdmin {
  constructor(
    private readonly storage: Storage,
    private readonly accounts: AccountsService,
    private readonly region: string,
  ) {}

  /** The keys of the caller's account, oldest first, never with their secrets (`iam:ListAccessKeys`). */
  async list(principal: Principal): Promise<AccessKeyInfo[]> {
    this.authorize(principal, 'iam:ListAccessKeys', principal.accessKeyId);
    return this.accounts.listKeys(principal.accountId);
  }

  /**
   * Creates a key in the caller's account (`iam:CreateAccessKey`). As in IAM, where a new access key
   * has its user's permissions and no more, a key made without a policy gets the caller's own
   * (a root key's: allow `ses:*`); naming a policy is writing one, so it also needs
   * `iam:PutUserPolicy` — otherwise CreateAccessKey alone would mint a key with `*`. Returns the
   * secret and the SMTP password once.
   */
  async create(principal: Principal, input: { description?: unknown; policy?: unknown }): Promise<CreatedAccessKey> {
    this.authorize(principal, 'iam:CreateAccessKey', principal.accessKeyId);
    const description = this.description(input.description);
    const blank = input.policy === undefined || input.policy === null || (typeof input.policy === 'string' && input.policy.trim() === '');
    if (!blank) this.authorize(principal, 'iam:PutUserPolicy', principal.accessKeyId);
    const policy = blank ? (principal.isRoot ? DEFAULT_POLICY : principal.policy) : this.policy(input.policy);
    const key = await this.accounts.createKey({ accountId: principal.accountId, description, policy });
    return { ...key, smtpPassword: deriveSmtpPassword(key.secretAccessKey, this.region), region: this.region };
  }

  /**
   * Revokes a key of the caller's account (`iam:UpdateAccessKey` to Inactive): API calls and SMTP
   * logins with it fail at once and its console sessions end (the caller's own too, when it is the
   * key revoked). The account's last active root key is refused.
   */
  async revoke(principal: Principal, accessKeyId: string): Promise<AccessKeyInfo> {
    this.authorize(principal, 'iam:UpdateAccessKey', accessKeyId);
    const key = await this.ownKey(principal, accessKeyId);
    if (key.status === 'Inactive') return this.info(key);
    if (key.isRoot && !principal.isRoot) {
      // As IAM users cannot touch the root user's keys: a root key answers only to a root key.
      throw new SesError('AccessDenied', `User: ${callerArn(principal.accountId, principal.accessKeyId)} is not authorized to perform: iam:UpdateAccessKey on resource: ${callerArn(principal.accountId, accessKeyId)}: only a root key may revoke a root key`);
    }
    if (key.isRoot) {
      const activeRoots = (await this.storage.accessKeys.list(principal.accountId)).filter((k) => k.isRoot && k.status === 'Active');
      if (activeRoots.length <= 1) {
        throw new IamError(
          'DeleteConflict',
          `Cannot revoke access key ${accessKeyId}: it is the last active root key of account ${principal.accountId}, and without it no key could manage the account. To replace it, start Sesame with another SESAME_ROOT_ACCESS_KEY_ID and SESAME_ROOT_SECRET_ACCESS_KEY, then revoke this one.`,
        );
      }
    }
    await this.accounts.revokeKey(accessKeyId);
    return this.info({ ...key, status: 'Inactive' });
  }

  /**
   * Replaces the policy of a non-root key of the caller's account (`iam:PutUserPolicy`). A malformed
   * policy is refused with MalformedPolicyDocument and the old one stays in force. Root keys are
   * refused: they allow everything, always.
   */
  async putPolicy(principal: Principal, accessKeyId: string, policy: unknown): Promise<AccessKeyInfo> {
    this.authorize(principal, 'iam:PutUserPolicy', accessKeyId);
    const key = await this.ownKey(principal, accessKeyId);
    if (key.isRoot) {
      throw new IamError('UnmodifiableEntity', `Cannot change the policy of access key ${accessKeyId}: it is a root key, and a root key is allowed every action. Create a key with the policy you want instead.`);
    }
    if (policy === undefined || policy === null || (typeof policy === 'string' && policy.trim() === '')) {
      throw new IamError('MalformedPolicyDocument', 'The policy document is empty: give a JSON policy with at least one Statement.');
    }
    const parsed = this.policy(policy);
    const text = JSON.stringify(parsed);
    // Only the policy column: a revoke racing this edit is never undone.
    if (!(await this.storage.accessKeys.setPolicy(accessKeyId, text))) throw this.noSuchKey(accessKeyId);
    return this.info({ ...key, policy: text });
  }

  private authorize(principal: Principal, action: string, accessKeyId: string): void {
    this.accounts.authorize(principal, { action, resource: callerArn(principal.accountId, accessKeyId) });
  }

  /** A key of the caller's account; another account's key is as unknown as a missing one. */
  private async ownKey(principal: Principal, accessKeyId: string): Promise<AccessKeyRecord> {
    const id = typeof accessKeyId === 'string' ? accessKeyId.trim() : '';
    const key = id ? await this.storage.accessKeys.get(id) : undefined;
    if (!key || key.accountId !== principal.accountId) throw this.noSuchKey(accessKeyId);
    return key;
  }

  private noSuchKey(accessKeyId: string): IamError {
    return new IamError('NoSuchEntity', `The Access Key with id ${accessKeyId} cannot be found.`);
  }

  private description(v: unknown): string {
    if (v === undefined || v === null) return '';
    if (typeof v !== 'string') throw new IamError('InvalidInput', 'The description must be a string.');
    const d = v.trim();
    if (d.length > MAX_DESCRIPTION) throw new IamError('InvalidInput', `The description is ${d.length} characters long; the most is ${MAX_DESCRIPTION}.`);
    if (/[\u0000-\u001f\u007f]/.test(d)) throw new IamError('InvalidInput', 'The description must be one line of text, without control characters.');
    return d;
  }

  /** A policy given as JSON text or an object, validated; MalformedPolicyDocument with the reason otherwise. */
  private policy(v: unknown): PolicyDocument {
    const text = typeof v === 'string' ? v : JSON.stringify(v);
    if (text.length > MAX_POLICY_CHARS) throw new IamError('MalformedPolicyDocument', `The policy document is ${text.length} characters long; the most is ${MAX_POLICY_CHARS}.`);
    try {
      return parsePolicy(v);
    } catch (err) {
      if (err instanceof SesError) throw new IamError('MalformedPolicyDocument', `The policy document is not valid: ${err.message}.`);
      throw err;
    }
  }

  private info(k: AccessKeyRecord): AccessKeyInfo {
    return { accessKeyId: k.accessKeyId, accountId: k.accountId, description: k.description, status: k.status, isRoot: k.isRoot, createdAt: k.createdAt, policy: parsePolicy(k.policy) };
  }
}
