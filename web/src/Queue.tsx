import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { call } from './api.ts';
import { Alert, Loading, TableHead } from './ui.tsx';

/** One destination domain of the account's queue, as GET /console/api/queue gives it. */
export interface DestinationRow {
  domain: string;
  queued: number;
  inFlight: number;
  oldestCreatedAt: string | null;
  oldestAgeSeconds: number | null;
  nextAttemptAt: string | null;
  deferrals: Array<{ response: string; count: number }>;
  paused: { pausedAt: string; pausedBy: string; reason: string | null } | null;
}

/** The account's queue per destination. */
export interface QueueView {
  destinations: DestinationRow[];
  totalQueued: number;
  truncated: boolean;
  /** The server's time of the answer (ages and "in 5 min" are relative to it). */
  at: string;
}

const path = (domain: string, action: string) => `/queue/${encodeURIComponent(domain)}/${action}`;
export const queue = () => call<QueueView>('GET', '/queue');
export const retryDestination = (domain: string) => call<{ recipientsMadeDue: number }>('POST', path(domain, 'retry'), {});
export const pauseDestination = (domain: string, reason: string) => call<{ domain: string }>('POST', path(domain, 'pause'), reason ? { reason } : {});
export const resumeDestination = (domain: string) => call<{ recipientsMadeDue: number }>('POST', path(domain, 'resume'), {});

/** "3 h 12 min", "45 s", "2 d 4 h". */
export function age(seconds: number): string {
  if (seconds < 60) return `${seconds} s`;
  const m = Math.floor(seconds / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m % 60} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

/** When the next attempt is, relative to the server's time of the answer. */
function nextAttempt(d: DestinationRow, at: number): string {
  if (d.paused) return 'paused';
  if (d.nextAttemptAt === null) return d.queued > 0 ? 'in flight' : '–';
  const wait = Math.round((Date.parse(d.nextAttemptAt) - at) / 1000);
  return wait <= 0 ? 'due now' : `in ${age(wait)}`;
}

/**
 * The Queue page: the account's queued mail per destination domain (depth, in flight, age of the
 * oldest, next attempt, the commonest deferral replies), with Retry now, and Pause / Resume (for
 * every account: a root key or sesame:PauseDestination).
 */
export function Queue(props: { onError: (err: Error) => void }) {
  const [q, setQ] = useState<QueueView>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const [notice, setNotice] = useState('');
  const [pausing, setPausing] = useState<string>();
  const [reason, setReason] = useState('');
  const { onError } = props;

  const load = useCallback(() => {
    setBusy(true);
    return queue()
      .then(setQ, onError)
      .finally(() => setBusy(false));
  }, [onError]);
  useEffect(() => void load(), [load]);

  /** Runs an action on a domain: its refusal shows on the page, its result as a notice, then the table reloads. */
  const act = (what: Promise<string>) => {
    setError('');
    setNotice('');
    what.then(
      (text) => {
        setNotice(text);
        void load();
      },
      (err: Error) => setError(err.message),
    );
  };

  const confirmPause = (e: FormEvent) => {
    e.preventDefault();
    const domain = pausing!;
    act(pauseDestination(domain, reason.trim()).then(() => `Delivery to ${domain} is paused for every account: its mail stays queued until you resume it.`));
    setPausing(undefined);
    setReason('');
  };

  const at = q ? Date.parse(q.at) : 0;
  return (
    <>
      <h1>Queue</h1>
      <p>Mail of this account waiting for delivery, per destination domain. Pausing a destination stops delivery to it for every account until it is resumed; its mail stays queued.</p>
      <div className="actions">
        <button type="button" onClick={() => void load()} disabled={busy}>
          {busy ? 'Refreshing…' : 'Refresh'}
        </button>
      </div>
      <Alert text={error} />
      {notice && (
        <p role="status" className="notice">
          {notice}
        </p>
      )}
      {!q ? (
        <Loading />
      ) : (
        <>
          <p data-testid="queue-total">
            <strong>{q.totalQueued}</strong> {q.totalQueued === 1 ? 'recipient' : 'recipients'} queued
            {q.truncated ? ' (the 100 deepest destinations are shown)' : ''}.
          </p>
          {q.destinations.length === 0 ? (
            <p>Nothing is queued: every message was delivered or ended.</p>
          ) : (
            <table className="queue-table">
              <caption className="sr-only">Queued mail per destination domain</caption>
              <TableHead columns={['Destination', 'Queued', 'In flight', 'Oldest', 'Next attempt', 'Deferral replies']} actions="Actions" />
              <tbody>
                {q.destinations.map((d) => (
                  <tr key={d.domain} data-testid="destination" data-domain={d.domain}>
                    <td data-label="Destination">
                      <strong>{d.domain}</strong>{' '}
                      {d.paused && (
                        <span className="status status-pending" title={`Paused ${d.paused.pausedAt.replace('T', ' ').replace(/\.\d+Z$/, ' UTC')} by ${d.paused.pausedBy}`}>
                          Paused
                        </span>
                      )}
                      {d.paused?.reason && <div className="muted">{d.paused.reason}</div>}
                    </td>
                    <td data-label="Queued">{d.queued}</td>
                    <td data-label="In flight">{d.inFlight}</td>
                    <td data-label="Oldest" title={d.oldestCreatedAt ?? undefined}>
                      {d.oldestAgeSeconds === null ? '–' : age(d.oldestAgeSeconds)}
                    </td>
                    <td data-label="Next attempt" title={d.nextAttemptAt ?? undefined}>
                      {nextAttempt(d, at)}
                    </td>
                    <td data-label="Deferral replies">
                      {d.deferrals.length === 0 ? (
                        '–'
                      ) : (
                        <ul className="queue-replies">
                          {d.deferrals.map((r) => (
                            <li key={r.response}>
                              <span className="queue-count">{r.count}×</span> <code>{r.response}</code>
                            </li>
                          ))}
                        </ul>
                      )}
                    </td>
                    <td>
                      <div className="actions">
                        {d.queued > 0 && !d.paused && (
                          <button
                            type="button"
                            aria-label={`Retry now ${d.domain}`}
                            onClick={() => act(retryDestination(d.domain).then((r) => `${r.recipientsMadeDue} queued ${r.recipientsMadeDue === 1 ? 'recipient' : 'recipients'} at ${d.domain} due now.`))}
                          >
                            Retry now
                          </button>
                        )}
                        {d.paused ? (
                          <button
                            type="button"
                            aria-label={`Resume ${d.domain}`}
                            onClick={() => act(resumeDestination(d.domain).then(() => `Delivery to ${d.domain} resumed; its queued mail is due now.`))}
                          >
                            Resume
                          </button>
                        ) : (
                          <button type="button" aria-label={`Pause ${d.domain}`} aria-expanded={pausing === d.domain} onClick={() => (setPausing(d.domain), setReason(''))}>
                            Pause
                          </button>
                        )}
                      </div>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
      {pausing && (
        <form className="inline" aria-label={`Pause ${pausing}`} onSubmit={confirmPause}>
          <label htmlFor="q-reason">Reason for pausing {pausing} (optional)</label>
          <input id="q-reason" value={reason} maxLength={500} onChange={(e) => setReason(e.target.value)} autoFocus />
          <button type="submit">Pause delivery</button>
          <button type="button" onClick={() => setPausing(undefined)}>
            Cancel
          </button>
        </form>
      )}
      <PauseOther onPause={(domain) => (setPausing(domain), setReason(''))} />
    </>
  );
}

/** Pause a destination that has nothing of this account queued (yet). */
function PauseOther(props: { onPause: (domain: string) => void }) {
  const [domain, setDomain] = useState('');
  return (
    <form
      className="inline"
      aria-label="Pause another destination"
      onSubmit={(e) => {
        e.preventDefault();
        if (domain.trim()) props.onPause(domain.trim().toLowerCase());
        setDomain('');
      }}
    >
      <label htmlFor="q-other">Pause another destination domain</label>
      <input id="q-other" placeholder="example.com" value={domain} onChange={(e) => setDomain(e.target.value)} />
      <button type="submit">Pause…</button>
    </form>
  );
}

/**
 * The overview's queue card: queued recipients, the age of the oldest, paused destinations. A key
 * that may not read the queue (sesame:GetQueue) sees a line saying so instead of an error.
 */
export function QueueDepth() {
  const [q, setQ] = useState<QueueView>();
  const [refused, setRefused] = useState('');
  useEffect(() => {
    queue().then(setQ, (err: Error) => setRefused(err.message));
  }, []);
  if (refused) {
    return (
      <section aria-labelledby="depth-h" className="cards">
        <h2 id="depth-h">Queue</h2>
        <p className="hint">The queue is not shown: {refused}</p>
      </section>
    );
  }
  if (!q) return null;
  const oldest = q.destinations.reduce<number | null>((m, d) => (d.oldestAgeSeconds !== null && (m === null || d.oldestAgeSeconds > m) ? d.oldestAgeSeconds : m), null);
  const paused = q.destinations.filter((d) => d.paused).length;
  return (
    <section aria-labelledby="depth-h" className="cards">
      <h2 id="depth-h">Queue</h2>
      <dl>
        <div>
          <dt>Recipients queued</dt>
          <dd data-testid="queue-depth">{q.totalQueued.toLocaleString('en-US')}</dd>
        </div>
        <div>
          <dt>Oldest waiting</dt>
          <dd>{oldest === null ? '–' : age(oldest)}</dd>
        </div>
        <div>
          <dt>Destinations</dt>
          <dd>
            {q.destinations.filter((d) => d.queued > 0).length.toLocaleString('en-US')}
            {paused > 0 && ` (${paused} paused)`}
          </dd>
        </div>
      </dl>
      <p>
        <a href="#/queue">The queue per destination</a>
      </p>
    </section>
  );
}
