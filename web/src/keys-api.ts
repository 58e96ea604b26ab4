/** The Access keys page's calls (`/console/api/keys`). */
import { call } from './api.ts';

export interface PolicyView {
  Version?: string;
  Statement: Array<Record<string, unknown>>;
}

/** A key as listed: never its secret. */
export interface AccessKeyRow {
  accessKeyId: string;
  description: string;
  status: 'Active' | 'Inactive';
  isRoot: boolean;
  createdAt: string;
  policy: PolicyView;
  /** The key this console session signed in with. */
  thisSession: boolean;
}

/** A key just created: the secret and SMTP password are in this answer only. */
export interface CreatedKey extends AccessKeyRow {
  secretAccessKey: string;
  smtpPassword: string;
  region: string;
}

export const accessKeys = () => call<{ items: AccessKeyRow[] }>('GET', '/keys');
export const createAccessKey = (description: string, policy: string) => call<CreatedKey>('POST', '/keys', { description, ...(policy.trim() ? { policy } : {}) });
export const revokeAccessKey = (id: string) => call<AccessKeyRow>('POST', `/keys/${encodeURIComponent(id)}/revoke`);
export const putKeyPolicy = (id: string, policy: string) => call<AccessKeyRow>('PUT', `/keys/${encodeURIComponent(id)}/policy`, { policy });
