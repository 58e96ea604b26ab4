/** The console's calls to Sesame's /console/api: same origin, the session cookie, the CSRF token on changes. */

export interface SessionView {
  accountId: string;
  accessKeyId: string;
  /** The console user signed in with a password; absent for an access key sign-in. */
  userName?: string;
  csrfToken: string;
  expiresAt: string;
}

export interface AccountView {
  accountId: string;
  sendingEnabled?: boolean;
  productionAccessEnabled?: boolean;
  enforcementStatus?: string;
  sentLast24Hours: number;
  quota: { max24HourSend: number; maxSendRate: number };
}

/** A refusal of the console API, with its code and message as the server gave them. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

let csrfToken = '';

/** One call of the console API: JSON in and out, the CSRF token on changes, an ApiError on refusal. */
export async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['x-csrf-token'] = csrfToken;
  const r = await fetch(`/console/api${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin' });
  if (r.status === 204) return undefined as T;
  const data = (await r.json().catch(() => ({}))) as Record<string, unknown>;
  if (!r.ok) throw new ApiError(r.status, String(data.code ?? r.status), String(data.message ?? r.statusText));
  return data as T;
}

export async function signIn(accessKeyId: string, secretAccessKey: string): Promise<SessionView> {
  const s = await call<SessionView>('POST', '/session', { accessKeyId, secretAccessKey });
  csrfToken = s.csrfToken;
  return s;
}

/** Signs in as a console user (name and password). */
export async function signInAsUser(userName: string, password: string): Promise<SessionView> {
  const s = await call<SessionView>('POST', '/session', { userName, password });
  csrfToken = s.csrfToken;
  return s;
}

/** The current session, or undefined when the browser has none (or it ended). */
export async function currentSession(): Promise<SessionView | undefined> {
  try {
    const s = await call<SessionView>('GET', '/session');
    csrfToken = s.csrfToken;
    return s;
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return undefined;
    throw err;
  }
}

export async function signOut(): Promise<void> {
  await call<void>('DELETE', '/session');
  csrfToken = '';
}

export const account = () => call<AccountView>('GET', '/account');

export interface IdentitySummary {
  name: string;
  type: 'DOMAIN' | 'EMAIL_ADDRESS';
  verificationStatus: string;
  verifiedForSending: boolean;
  dkim: { status: string; signingEnabled: boolean; origin: string };
  mailFrom: { domain: string; status: string; behaviorOnMxFailure: 'USE_DEFAULT_VALUE' | 'REJECT_MESSAGE' } | null;
  createdAt: string;
}

export interface RecordView {
  type: string;
  name: string;
  value: string;
  purpose: string;
  check: { found: boolean; seen: string[]; error?: string };
}

export const identities = (nameContains = '', nextToken = '') =>
  call<{ items: IdentitySummary[]; nextToken?: string }>('GET', `/identities?${new URLSearchParams({ ...(nameContains ? { nameContains } : {}), ...(nextToken ? { nextToken } : {}) })}`);
export const createIdentity = (name: string) => call<IdentitySummary>('POST', '/identities', { name });
export const identity = (name: string) => call<IdentitySummary & { records: RecordView[] }>('GET', `/identities/${encodeURIComponent(name)}`);
export const putMailFrom = (name: string, mailFromDomain: string, behaviorOnMxFailure: string) =>
  call<IdentitySummary>('PUT', `/identities/${encodeURIComponent(name)}/mail-from`, { mailFromDomain, behaviorOnMxFailure });
export const deleteIdentity = (name: string) => call<void>('DELETE', `/identities/${encodeURIComponent(name)}`);

export interface RecipientRow {
  rcpt: string;
  state: 'queued' | 'delivered' | 'bounced' | 'suppressed';
  attempts: number;
  nextAttemptAt: number | null;
  inFlight: boolean;
  lastResponse: string | null;
  updatedAt: number;
}

export interface MessageRow {
  messageId: string;
  source: string;
  from: string[];
  subject?: string;
  destination: string[];
  createdAt: number;
  recipients: RecipientRow[];
}

export interface EventRow {
  id?: number;
  type: string;
  createdAt: number;
  payload: Record<string, unknown>;
}

export interface MessageSearchQuery {
  q?: string;
  recipient?: string;
  messageId?: string;
  status?: string;
  since?: string;
  until?: string;
  cursor?: string;
}

export const messages = (query: MessageSearchQuery) =>
  call<{ items: MessageRow[]; nextCursor?: string }>('GET', `/messages?${new URLSearchParams(Object.entries(query).filter((e): e is [string, string] => Boolean(e[1])))}`);
export const message = (id: string) =>
  call<{ message: Omit<MessageRow, 'recipients'> & { mailFrom: string; configurationSet: string | null; expiresAt: number }; recipients: RecipientRow[]; events: EventRow[] }>('GET', `/messages/${encodeURIComponent(id)}`);
export const retryMessage = (id: string) => call<{ recipientsMadeDue: number }>('POST', `/messages/${encodeURIComponent(id)}/retry`);
export const cancelMessage = (id: string) => call<{ recipientsCancelled: string[] }>('POST', `/messages/${encodeURIComponent(id)}/cancel`);

export interface SuppressionRow {
  email: string;
  reason: 'BOUNCE' | 'COMPLAINT';
  lastUpdateTime: string;
  messageId: string | null;
}

export const suppression = (query: { email?: string; reason?: string; nextToken?: string }) =>
  call<{ items: SuppressionRow[]; nextToken?: string }>('GET', `/suppression?${new URLSearchParams(Object.entries(query).filter((e): e is [string, string] => Boolean(e[1])))}`);
export const suppress = (email: string, reason: string) => call<SuppressionRow>('POST', '/suppression', { email, reason });
export const unsuppress = (email: string) => call<void>('DELETE', `/suppression/${encodeURIComponent(email)}`);
export const sendTest = (m: { from: string; to: string; subject: string; text: string }) => call<{ messageId: string }>('POST', '/send-test', m);

export interface Activity {
  bucketMs: number;
  buckets: number[];
  series: Record<string, number[]>;
}

export const activity = (hours = 24) => call<Activity>('GET', `/activity?hours=${hours}`);
