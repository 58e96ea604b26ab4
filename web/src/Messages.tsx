import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { cancelMessage, message, messages, retryMessage, type EventRow, type MessageRow, type MessageSearchQuery } from './api.ts';
import { ItemList, Loading, MoreButton, TableHead, usePaged } from './ui.tsx';

const time = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');

/** What a message's recipients came to, in a few words. */
function outcome(m: MessageRow): string {
  const by = new Map<string, number>();
  for (const r of m.recipients) by.set(r.state, (by.get(r.state) ?? 0) + 1);
  return [...by].map(([state, n]) => (m.recipients.length === 1 ? state : `${n} ${state}`)).join(', ');
}

/** Messages: search by text (sender, subject), recipient, MessageId, status and time, newest first. */
export function Messages(props: { onError: (err: Error) => void }) {
  const [form, setForm] = useState<MessageSearchQuery>({});
  const [query, setQuery] = useState<MessageSearchQuery>({});
  const [took, setTook] = useState<number>();
  const { items, next, loadMore } = usePaged(
    (cursor) => {
      const t0 = performance.now();
      return messages({ ...query, cursor }).then((p) => {
        setTook(Math.round(performance.now() - t0));
        return { items: p.items, nextToken: p.nextCursor };
      });
    },
    props.onError,
    [query],
  );

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const iso = (v?: string) => (v ? new Date(v).toISOString() : undefined);
    setQuery({ ...form, since: iso(form.since), until: iso(form.until) });
  };
  const field = (name: keyof MessageSearchQuery) => ({ value: form[name] ?? '', onChange: (e: { target: { value: string } }) => setForm({ ...form, [name]: e.target.value }) });

  return (
    <>
      <h1>Messages</h1>
      <form className="search" onSubmit={submit} aria-label="Search messages">
        <div>
          <label htmlFor="m-recipient">Recipient</label>
          <input id="m-recipient" type="email" placeholder="someone@example.com" {...field('recipient')} />
        </div>
        <div>
          <label htmlFor="m-q">Sender or subject contains</label>
          <input id="m-q" {...field('q')} />
        </div>
        <div>
          <label htmlFor="m-id">MessageId</label>
          <input id="m-id" {...field('messageId')} />
        </div>
        <div>
          <label htmlFor="m-status">Status</label>
          <select id="m-status" {...field('status')}>
            <option value="">any</option>
            <option value="queued">queued</option>
            <option value="delivered">delivered</option>
            <option value="bounced">bounced</option>
            <option value="suppressed">suppressed</option>
          </select>
        </div>
        <div>
          <label htmlFor="m-since">Sent from</label>
          <input id="m-since" type="datetime-local" {...field('since')} />
        </div>
        <div>
          <label htmlFor="m-until">Sent before</label>
          <input id="m-until" type="datetime-local" {...field('until')} />
        </div>
        <button type="submit">Search</button>
      </form>
      <ItemList items={items} empty="No message matches.">
        {(items) => (
          <>
            <p className="muted" aria-live="polite">
              {items.length} shown{took !== undefined ? `, answered in ${took} ms` : ''}
            </p>
            <table>
              <caption className="sr-only">Messages, newest first</caption>
              <TableHead columns={['Sent', 'From', 'To', 'Subject', 'Status']} />
              <tbody>
                {items.map((m) => (
                  <tr key={m.messageId} data-testid="message-row">
                    <td>
                      <a href={`#/messages/${encodeURIComponent(m.messageId)}`}>{time(m.createdAt)}</a>
                    </td>
                    <td>{m.source}</td>
                    <td>{m.destination.join(', ')}</td>
                    <td>{m.subject ?? ''}</td>
                    <td>{outcome(m)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </>
        )}
      </ItemList>
      <MoreButton next={next} onMore={loadMore} />
    </>
  );
}

/** The remote server's words in an event, where it has some. */
function reply(e: EventRow): string {
  const p = e.payload as Record<string, Record<string, unknown> | undefined>;
  const d = p.delivery ?? p.deliveryDelay;
  if (d?.smtpResponse) return String(d.smtpResponse);
  const b = p.bounce as { bouncedRecipients?: Array<{ diagnosticCode?: string }>; bounceType?: string } | undefined;
  if (b) return [b.bounceType, b.bouncedRecipients?.map((r) => r.diagnosticCode).filter(Boolean).join('; ')].filter(Boolean).join(': ');
  const r = p.reject as { reason?: string } | undefined;
  return r?.reason ?? '';
}

/** One message: its recipients, its events in order with the remote replies, retry or cancel while queued. */
export function MessagePage(props: { id: string; onError: (err: Error) => void }) {
  const [m, setM] = useState<Awaited<ReturnType<typeof message>>>();
  const [note, setNote] = useState('');
  const { id, onError } = props;
  const load = useCallback(() => message(id).then(setM, onError), [id, onError]);
  useEffect(() => void load(), [load]);
  if (!m) return <Loading />;
  const queued = m.recipients.some((r) => r.state === 'queued');
  const act = (what: 'retry' | 'cancel') =>
    (what === 'retry' ? retryMessage(id).then((r) => `${r.recipientsMadeDue} recipient(s) will be tried now.`) : cancelMessage(id).then((r) => `Cancelled for ${r.recipientsCancelled.join(', ') || 'no recipient'}.`)).then(
      (text) => {
        setNote(text);
        void load();
      },
      onError,
    );
  return (
    <>
      <p>
        <a href="#/messages">Messages</a> /
      </p>
      <h1 className="message-id">{m.message.subject ?? '(no subject)'}</h1>
      <dl className="facts">
        <div>
          <dt>MessageId</dt>
          <dd>
            <code>{m.message.messageId}</code>
          </dd>
        </div>
        <div>
          <dt>From</dt>
          <dd>{m.message.source}</dd>
        </div>
        <div>
          <dt>Sent</dt>
          <dd>{time(m.message.createdAt)}</dd>
        </div>
      </dl>
      <h2>Recipients</h2>
      <table>
        <TableHead columns={['Recipient', 'Status', 'Attempts', 'Last reply']} />
        <tbody>
          {m.recipients.map((r) => (
            <tr key={r.rcpt}>
              <td>{r.rcpt}</td>
              <td>{r.inFlight ? 'sending' : r.state}</td>
              <td>{r.attempts}</td>
              <td>{r.lastResponse ?? ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {queued && (
        <p className="actions">
          <button type="button" onClick={() => void act('retry')}>
            Retry now
          </button>
          <button type="button" onClick={() => void act('cancel')}>
            Cancel delivery
          </button>
        </p>
      )}
      {note && <p role="status">{note}</p>}
      <h2>Events</h2>
      <ol className="timeline">
        {m.events.map((e, k) => (
          <li key={e.id ?? k} data-testid="event">
            <strong>{e.type}</strong> <span className="muted">{time(e.createdAt)}</span>
            {reply(e) && <div className="reply">{reply(e)}</div>}
          </li>
        ))}
      </ol>
    </>
  );
}
