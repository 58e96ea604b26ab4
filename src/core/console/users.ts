/**
 * Console users, for operators (`sesame console-users`): a name (an email address or a login name)
 * and a password, belonging to an account and acting with the policy of one of its access keys.
 * The password is kept only as its scrypt hash (passwords.ts). Removing a user or setting its
 * password ends the user's console sessions; revoking its key ends them too (and stops its
 * sign-ins), exactly as for a key's own sign-ins.
 */
import { StorageConflictError, type ConsoleUserRecord, type Storage } from '../../storage/ports.ts';
import type { Clock } from '../clock.ts';
import { badRequest, notFound, SesError } from '../errors.ts';
import { hashPassword } from './passwords.ts';

/** Shortest and longest password accepted. */
export const PASSWORD_MIN_LENGTH = 12;
export const PASSWORD_MAX_LENGTH = 1024;

/** A console user as operators see it (never the hash). */
export interface ConsoleUserInfo {
  name: string;
  accountId: string;
  accessKeyId: string;
  createdAt: number;
  passwordChangedAt: number;
}

const LOGIN = /^[a-z0-9][a-z0-9._+-]*$/;
const EMAIL = /^[a-z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*$/;

/** A user name as stored and looked up: trimmed, lower case (names are case-insensitive). */
export function normaliseUserName(name: string): string {
  return name.trim().toLowerCase();
}

/** Throws BadRequestException unless `name` (normalised) is an email address or a login name. */
export function checkUserName(name: string): void {
  if (name.length < 1 || name.length > 128 || !(LOGIN.test(name) || EMAIL.test(name))) {
    throw badRequest(`Console user name "${name}" is not valid: use an email address or a login name (letters, digits, ".", "_", "+", "-"; at most 128 characters).`);
  }
}

/** Throws BadRequestException unless the password is long enough (and not absurdly long). */
export function checkPassword(password: string): void {
  if (password.length < PASSWORD_MIN_LENGTH) throw badRequest(`The password must have at least ${PASSWORD_MIN_LENGTH} characters.`);
  if (password.length > PASSWORD_MAX_LENGTH) throw badRequest(`The password must have at most ${PASSWORD_MAX_LENGTH} characters.`);
}

export class ConsoleUsersService {
  constructor(
    private readonly storage: Storage,
    private readonly clock: Clock,
    private readonly defaultAccountId: string,
  ) {}

  /** Adds a user acting with `accessKeyId` (an active key; the user belongs to the key's account). */
  async add(input: { name: string; accessKeyId: string; password: string }): Promise<ConsoleUserInfo> {
    const name = normaliseUserName(input.name);
    checkUserName(name);
    checkPassword(input.password);
    const key = await this.storage.accessKeys.get(input.accessKeyId.trim());
    if (!key) throw notFound(`No access key ${input.accessKeyId}.`);
    if (key.status !== 'Active') throw badRequest(`Access key ${key.accessKeyId} is not active; a console user needs an active key.`);
    const now = this.clock.now();
    const record: ConsoleUserRecord = { name, accountId: key.accountId, accessKeyId: key.accessKeyId, passwordHash: await hashPassword(input.password), createdAt: now, passwordChangedAt: now };
    try {
      await this.storage.consoleUsers.create(record);
    } catch (err) {
      if (err instanceof StorageConflictError) throw new SesError('AlreadyExistsException', `Console user ${name} already exists.`);
      throw err;
    }
    return info(record);
  }

  /** One user, or undefined. */
  async get(name: string): Promise<ConsoleUserInfo | undefined> {
    const u = await this.storage.consoleUsers.get(normaliseUserName(name));
    return u ? info(u) : undefined;
  }

  /** An account's users in name order. */
  async list(accountId = this.defaultAccountId): Promise<ConsoleUserInfo[]> {
    return (await this.storage.consoleUsers.listByAccount(accountId)).map(info);
  }

  /** Removes a user and ends its sessions; false when there was no such user. */
  async remove(name: string): Promise<boolean> {
    const n = normaliseUserName(name);
    const removed = await this.storage.consoleUsers.delete(n);
    // A session also checks its user on every request; this ends them at once.
    await this.storage.consoleSessions.deleteForUser(n);
    return removed;
  }

  /** Sets a new password and ends the user's sessions; false when there is no such user. */
  async setPassword(name: string, password: string): Promise<boolean> {
    const n = normaliseUserName(name);
    checkPassword(password);
    const changed = await this.storage.consoleUsers.setPassword(n, await hashPassword(password), this.clock.now());
    if (changed) await this.storage.consoleSessions.deleteForUser(n);
    return changed;
  }
}

function info(u: ConsoleUserRecord): ConsoleUserInfo {
  return { name: u.name, accountId: u.accountId, accessKeyId: u.accessKeyId, createdAt: u.createdAt, passwordChangedAt: u.passwordChangedAt };
}
