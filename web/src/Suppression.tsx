import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { suppress, suppression, unsuppress, type SuppressionRow } from './api.ts';

/** The account's suppression list: find an address, add one, remove one; page through the rest. */
export function Suppression(props: { onError: (err: Error) => void }) {
  const [items, setItems] = useState<SuppressionRow[]>();
  const [next, setNext] = useState<string>();
  const [find, setFind] = useState('');
  const [reason, setReason] = useState('');
  const [email, setEmail] = useState('');
  const [addReason, setAddReason] = useState('BOUNCE');
  const [error, setError] = useState('');
  const [query, setQuery] = useState<{ email?: string; reason?: string }>({});
  const { onError } = props;

  const load = useCallback(
    (nextToken?: string) =>
      suppression({ ...query, nextToken }).then((p) => {
        setItems((prev) => (nextToken ? [...(prev ?? []), ...p.items] : p.items));
        setNext(p.nextToken);
      }, onError),
    [query, onError],
  );
  useEffect(() => void load(), [load]);

  const add = (e: FormEvent) => {
    e.preventDefault();
    setError('');
    suppress(email.trim(), addReason).then(
      () => {
        setEmail('');
        void load();
      },
      (err: Error) => setError(err.message),
    );
  };

  return (
    <>
      <h1>Suppression list</h1>
      <p>Mail to these addresses is not sent: it bounces at once, as SES does for its account-level suppression list.</p>
      <form className="inline" onSubmit={add} aria-label="Add an address">
        <label htmlFor="s-email">Address to suppress</label>
        <input id="s-email" type="email" required value={email} onChange={(e) => setEmail(e.target.value)} />
        <select aria-label="Reason" value={addReason} onChange={(e) => setAddReason(e.target.value)}>
          <option value="BOUNCE">bounce</option>
          <option value="COMPLAINT">complaint</option>
        </select>
        <button type="submit">Suppress</button>
      </form>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      <form
        className="inline"
        aria-label="Find in the list"
        onSubmit={(e) => {
          e.preventDefault();
          setQuery({ email: find.trim() || undefined, reason: reason || undefined });
        }}
      >
        <label htmlFor="s-find">Find an address</label>
        <input id="s-find" type="search" value={find} onChange={(e) => setFind(e.target.value)} />
        <select aria-label="Reason filter" value={reason} onChange={(e) => setReason(e.target.value)}>
          <option value="">any reason</option>
          <option value="BOUNCE">bounce</option>
          <option value="COMPLAINT">complaint</option>
        </select>
        <button type="submit">Find</button>
      </form>
      {!items ? (
        <p className="loading">Loading…</p>
      ) : items.length === 0 ? (
        <p>No address{query.email ? ` ${query.email}` : ''} on the list.</p>
      ) : (
        <table>
          <caption className="sr-only">Suppressed addresses</caption>
          <thead>
            <tr>
              <th scope="col">Address</th>
              <th scope="col">Reason</th>
              <th scope="col">Since</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {items.map((s) => (
              <tr key={s.email} data-testid="suppressed">
                <td>{s.email}</td>
                <td>{s.reason.toLowerCase()}</td>
                <td>{s.lastUpdateTime.replace('T', ' ').replace(/\.\d+Z$/, ' UTC')}</td>
                <td>
                  <button type="button" aria-label={`Remove ${s.email} from the list`} onClick={() => void unsuppress(s.email).then(() => load(), onError)}>
                    Remove
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {next && (
        <button type="button" onClick={() => void load(next)}>
          More
        </button>
      )}
    </>
  );
}
