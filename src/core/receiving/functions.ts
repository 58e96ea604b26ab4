/**
 * Functions: what a receipt rule's LambdaAction invokes on a self-hosted install. No Lambda runs
 * here, so an operator registers an HTTP endpoint under a function name
 * (`sesame functions create NAME --url URL`), and its ARN,
 * `arn:aws:lambda:<region>:<account>:function:NAME`, goes into LambdaAction.FunctionArn. Sesame
 * POSTs SES's Lambda event (`{"Records":[{"eventSource":"aws:ses",…}]}`) to the URL; for
 * `RequestResponse` the JSON answer's `disposition` steers the rule set, as Lambda's return does.
 */
import type { Storage } from '../../storage/ports.ts';
import { StorageConflictError } from '../../storage/ports.ts';
import type { Clock } from '../clock.ts';
import { badRequest, notFound, SesError } from '../errors.ts';
import { allNamed } from '../paging.ts';

/** A registered function. */
export interface FunctionInfo {
  name: string;
  arn: string;
  url: string;
  createdAt: number;
}

const NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** Operator management of functions, and their lookup by ARN. */
export class FunctionsService {
  constructor(
    private readonly storage: Storage,
    private readonly clock: Clock,
    private readonly region: string,
  ) {}

  /** ARN of a function. */
  arn(accountId: string, name: string): string {
    return `arn:aws:lambda:${this.region}:${accountId}:function:${name}`;
  }

  /** Registers a function. */
  async create(accountId: string, name: string, url: string): Promise<FunctionInfo> {
    if (!NAME.test(name)) throw badRequest('A function name is 1 to 64 letters, digits, dashes or underscores (as Lambda function names).');
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw badRequest(`"${url}" is not a URL.`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw badRequest('The function URL must be http or https.');
    const now = this.clock.now();
    try {
      await this.storage.functions.create({ accountId, name, data: { url: u.toString() }, createdAt: now, updatedAt: now });
    } catch (err) {
      if (err instanceof StorageConflictError) throw new SesError('AlreadyExistsException', `Function ${name} already exists; delete it first to change its URL.`);
      throw err;
    }
    return { name, arn: this.arn(accountId, name), url: u.toString(), createdAt: now };
  }

  /** The account's functions in name order. */
  async list(accountId: string): Promise<FunctionInfo[]> {
    return (await allNamed(this.storage.functions, accountId)).map((r) => ({ name: r.name, arn: this.arn(accountId, r.name), url: (r.data as { url: string }).url, createdAt: r.createdAt }));
  }

  /** Removes a function. */
  async delete(accountId: string, name: string): Promise<void> {
    if (!(await this.storage.functions.delete(accountId, name))) throw notFound(`Function ${name} does not exist.`);
  }

  /** The function an ARN names, when it is this account's and registered. */
  async byArn(accountId: string, arn: string): Promise<FunctionInfo | undefined> {
    const m = /^arn:aws:lambda:([a-z0-9-]+):(\d{12}):function:([A-Za-z0-9_-]{1,64})(?::[A-Za-z0-9$_-]+)?$/.exec(arn);
    if (!m || m[1] !== this.region || m[2] !== accountId) return undefined;
    const r = await this.storage.functions.get(accountId, m[3]!);
    return r ? { name: r.name, arn: this.arn(accountId, r.name), url: (r.data as { url: string }).url, createdAt: r.createdAt } : undefined;
  }
}
