/**
 * Accounts and access keys: the default account, bootstrap root credentials, key creation and
 * revocation, and the authorization of every request against the key's policy. Secret access keys
 * are sealed with the master key before they reach storage.
 */
import type { SecretBox } from '../../lib/secretbox.ts';
import { newAccessKeyId, newSecretAccessKey } from '../../lib/ids.ts';
import { parseAuthorization, SigV4Error, verifySignature, type SigV4Request } from '../../lib/sigv4.ts';
import { StorageConflictError, type AccessKeyRecord, type Storage } from '../../storage/ports.ts';
import { callerArn } from '../arn.ts';
import type { Clock } from '../clock.ts';
import { SesError } from '../errors.ts';
import { ALLOW_ALL, evaluatePolicy, parsePolicy, type AuthorizationRequest, type PolicyDocument } from './policy.ts';

/** The authenticated caller of a request. */
export interface Principal {
  accountId: string;
  accessKeyId: string;
  isRoot: boolean;
  policy: PolicyDocument;
}

/** An access key as shown to operators (never with its secret). */
export interface AccessKeyInfo {
  accessKeyId: string;
  accountId: string;
  description: string;
  status: AccessKeyRecord['status'];
  isRoot: boolean;
  createdAt: number;
  policy: PolicyDocument;
}

/** A key together with its secret: returned once, at creation. */
export interface NewAccessKey extends AccessKeyInfo {
  secretAccessKey: string;
}

/** What bootstrap did, so the composition root can print generated credentials once. */
export type BootstrapResult =
  | { kind: 'generated'; key: NewAccessKey }
  | { kind: 'from-environment'; accessKeyId: string }
  | { kind: 'existing'; accessKeyId: string };

// The secret is bound to its key id as associated data, so a sealed secret cannot be moved to another key.
const aad = (accessKeyId: string) => `access-key:${accessKeyId}`;

/** How many parsed policy documents AccountsService keeps for authentication. */
const PARSED_POLICIES = 1000;

/** Accounts, keys and authorization. */
export class AccountsService {
  constructor(
    private readonly storage: Storage,
    private readonly box: SecretBox,
    private readonly clock: Clock,
    readonly defaultAccountId: string,
  ) {}

  /**
   * Ensures the default account and its root key. Credentials from the environment are authoritative
   * (created or updated); otherwise a root key is generated once and returned for printing.
   */
  async bootstrap(rootFromEnv?: { accessKeyId: string; secretAccessKey: string }): Promise<BootstrapResult> {
    await this.storage.accounts.ensure({ id: this.defaultAccountId, createdAt: this.clock.now(), settings: {} });
    if (rootFromEnv) {
      const existing = await this.storage.accessKeys.get(rootFromEnv.accessKeyId);
      const record: AccessKeyRecord = {
        accessKeyId: rootFromEnv.accessKeyId,
        accountId: this.defaultAccountId,
        secretSealed: this.box.seal(rootFromEnv.secretAccessKey, aad(rootFromEnv.accessKeyId)),
        policy: JSON.stringify(ALLOW_ALL),
        description: 'root (SESAME_ROOT_ACCESS_KEY_ID)',
        status: 'Active',
        isRoot: true,
        createdAt: existing?.createdAt ?? this.clock.now(),
      };
      if (existing) {
        if (existing.accountId !== this.defaultAccountId) throw new Error(`SESAME_ROOT_ACCESS_KEY_ID ${rootFromEnv.accessKeyId} belongs to account ${existing.accountId}`);
        // A revoked key stays revoked: starting with it in the environment must not bring it back.
        if (existing.status !== 'Active') {
          throw new Error(
            `SESAME_ROOT_ACCESS_KEY_ID ${rootFromEnv.accessKeyId} was revoked; a revoked key is not re-activated. Remove SESAME_ROOT_ACCESS_KEY_ID and SESAME_ROOT_SECRET_ACCESS_KEY from the environment, or set them to a new key pair`,
          );
        }
        await this.storage.accessKeys.update(record);
      } else {
        await this.storage.accessKeys.create(record);
      }
      return { kind: 'from-environment', accessKeyId: rootFromEnv.accessKeyId };
    }
    const root = await this.storage.accessKeys.findRoot(this.defaultAccountId);
    if (root) {
      // A wrong master key would otherwise surface later as failing API calls; say so at start.
      try {
        this.box.open(root.secretSealed, aad(root.accessKeyId));
      } catch {
        throw new Error(`the master key (SESAME_MASTER_KEY or master.key in the data dir) does not open the secrets stored in this database; start with the key this data was created with`);
      }
      return { kind: 'existing', accessKeyId: root.accessKeyId };
    }
    const key = await this.createKey({ accountId: this.defaultAccountId, description: 'root (generated on first start)', isRoot: true });
    return { kind: 'generated', key };
  }

  /** Creates an access key with a policy (default: allow all `ses:*` actions). */
  async createKey(input: { accountId?: string; description?: string; policy?: unknown; isRoot?: boolean }): Promise<NewAccessKey> {
    const accountId = input.accountId ?? this.defaultAccountId;
    const policy = input.isRoot ? ALLOW_ALL : input.policy === undefined ? parsePolicy({ Statement: [{ Effect: 'Allow', Action: 'ses:*', Resource: '*' }] }) : parsePolicy(input.policy);
    for (let attempt = 0; ; attempt++) {
      const accessKeyId = newAccessKeyId();
      const secretAccessKey = newSecretAccessKey();
      const record: AccessKeyRecord = {
        accessKeyId,
        accountId,
        secretSealed: this.box.seal(secretAccessKey, aad(accessKeyId)),
        policy: JSON.stringify(policy),
        description: input.description ?? '',
        status: 'Active',
        isRoot: input.isRoot ?? false,
        createdAt: this.clock.now(),
      };
      try {
        await this.storage.accessKeys.create(record);
      } catch (err) {
        if (err instanceof StorageConflictError && attempt < 3) continue;
        throw err;
      }
      return { ...this.info(record), secretAccessKey };
    }
  }

  /** Lists the keys of an account. */
  async listKeys(accountId = this.defaultAccountId): Promise<AccessKeyInfo[]> {
    return (await this.storage.accessKeys.list(accountId)).map((k) => this.info(k));
  }

  /** Deactivates a key: refused at once by this process, by other nodes and a running server (when this is the CLI) within SESAME_READ_CACHE (ADR 0024). Returns false if there is no such key. */
  async revokeKey(accessKeyId: string): Promise<boolean> {
    const revoked = await this.storage.accessKeys.setStatus(accessKeyId, 'Inactive');
    // Its console sessions end too (a session also checks its key on every request).
    if (revoked) await this.storage.consoleSessions.deleteForKey(accessKeyId);
    return revoked;
  }

  /** The secret of a key, for operators (`sesame keys smtp-password`). Undefined if unknown. */
  async revealSecret(accessKeyId: string): Promise<string | undefined> {
    const k = await this.storage.accessKeys.get(accessKeyId);
    return k ? this.box.open(k.secretSealed, aad(k.accessKeyId)) : undefined;
  }

  /**
   * Looks up an active key for request authentication. Unknown and inactive keys get the same
   * InvalidClientTokenId error, so callers cannot tell which key ids exist.
   */
  async authenticate(accessKeyId: string): Promise<{ principal: Principal; secretAccessKey: string }> {
    const k = await this.storage.accessKeys.get(accessKeyId);
    if (!k || k.status !== 'Active') {
      throw new SesError('InvalidClientTokenId', 'The security token included in the request is invalid.');
    }
    // Every request of a key parses the same policy text: the parsed document is kept per text (the
    // opened secret is SecretBox's to remember).
    let policy = this.policies.get(k.policy);
    if (policy === undefined) {
      policy = parsePolicy(k.policy);
      if (this.policies.size >= PARSED_POLICIES) this.policies.delete(this.policies.keys().next().value!);
      this.policies.set(k.policy, policy);
    }
    return {
      principal: { accountId: k.accountId, accessKeyId: k.accessKeyId, isRoot: k.isRoot, policy },
      secretAccessKey: this.box.open(k.secretSealed, aad(k.accessKeyId)),
    };
  }

  /** Policy documents parsed for authentication, by their text (at most PARSED_POLICIES, oldest first out). */
  private readonly policies = new Map<string, PolicyDocument>();

  /**
   * Authenticates a SigV4-signed request (header form): the key must be active, the signature right,
   * the body hash right, the time within 15 minutes, the scope's region ours and its service one of
   * `services`. Every failure is a SesError with AWS's code and wording.
   */
  async authenticateSigV4(req: SigV4Request, options: { region: string; services: string[] }): Promise<Principal> {
    try {
      const auth = parseAuthorization(req);
      if (!options.services.includes(auth.service)) {
        throw new SesError('SignatureDoesNotMatch', `Credential should be scoped to correct service: '${options.services[0]}'. `);
      }
      const { principal, secretAccessKey } = await this.authenticate(auth.accessKeyId);
      verifySignature(req, auth, secretAccessKey, { now: new Date(this.clock.now()), expectedRegion: options.region });
      return principal;
    } catch (err) {
      if (err instanceof SigV4Error) throw new SesError(err.code, err.message);
      throw err;
    }
  }

  /**
   * The principal of an account's root key, for operator commands that act as the account (e.g.
   * `sesame send`); throws when the account has no active root key.
   */
  async rootPrincipal(accountId = this.defaultAccountId): Promise<Principal> {
    // Several root keys may exist (SESAME_ROOT_ACCESS_KEY_ID changed over time); any active one will do.
    const roots = (await this.storage.accessKeys.list(accountId)).filter((k) => k.isRoot);
    const k = roots.find((r) => r.status === 'Active');
    if (!k) {
      throw new Error(
        roots.length === 0
          ? `account ${accountId} has no root access key; start the server once ("sesame serve") so that it creates one`
          : `every root access key of account ${accountId} is Inactive (${roots.map((r) => r.accessKeyId).join(', ')})`,
      );
    }
    return { accountId: k.accountId, accessKeyId: k.accessKeyId, isRoot: true, policy: parsePolicy(k.policy) };
  }

  /** Throws AccessDenied unless the principal's policy allows the request (IAM's wording). */
  authorize(principal: Principal, req: AuthorizationRequest): void {
    const verdict = evaluatePolicy(principal.policy, req);
    if (verdict === 'allow') return;
    const why = verdict === 'explicit-deny' ? `with an explicit deny in an identity-based policy` : `because no identity-based policy allows the ${req.action} action`;
    throw new SesError(
      'AccessDenied',
      `User: ${callerArn(principal.accountId, principal.accessKeyId)} is not authorized to perform: ${req.action} on resource: ${req.resource} ${why}`,
    );
  }

  private info(k: AccessKeyRecord): AccessKeyInfo {
    return { accessKeyId: k.accessKeyId, accountId: k.accountId, description: k.description, status: k.status, isRoot: k.isRoot, createdAt: k.createdAt, policy: parsePolicy(k.policy) };
  }
}
