import { useState, type FormEvent } from 'react';
import { call, suppress, suppression, unsuppress } from './api.ts';
import { Alert, BusyButton, ItemList, MoreButton, TableHead, usePaged } from './ui.tsx';

interface ImportResult {
  processed: number;
  failed: Array<{ line: number; value: string; reason: string }>;
}

const importList = (csv: string, action: 'PUT' | 'DELETE') => call<ImportResult>('POST', '/suppression/import', { csv, action });

/** The account's suppression list: find an address, add one, remove one; page through the rest. */
export function Suppression(props: { onError: (err: Error) => void }) {
  const [find, setFind] = useState('');
  const [reason, setReason] = useState('');
  const [email, setEmail] = useState('');
  const [addReason, setAddReason] = useState('BOUNCE');
  const [error, setError] = useState('');
  const [query, setQuery] = useState<{ email?: string; reason?: string }>({});
  const { onError } = props;
  const { items, next, loadMore, reload } = usePaged((nextToken) => suppression({ ...query, nextToken }), onError, [query]);

  const add = (e: FormEvent) => {
    e.preventDefault();
    setError('');
    suppress(email.trim(), addReason).then(
      () => {
        setEmail('');
        void reload();
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
      <Alert text={error} />
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
      <ImportExport onImported={() => void reload()} />
      <ItemList items={items} empty={`No address${query.email ? ` ${query.email}` : ''} on the list.`}>
        {(items) => (
          <table>
            <caption className="sr-only">Suppressed addresses</caption>
            <TableHead columns={['Address', 'Reason', 'Since']} actions="Actions" />
            <tbody>
              {items.map((s) => (
                <tr key={s.email} data-testid="suppressed">
                  <td>{s.email}</td>
                  <td>{s.reason.toLowerCase()}</td>
                  <td>{s.lastUpdateTime.replace('T', ' ').replace(/\.\d+Z$/, ' UTC')}</td>
                  <td>
                    <button type="button" aria-label={`Remove ${s.email} from the list`} onClick={() => void unsuppress(s.email).then(reload, onError)}>
                      Remove
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </ItemList>
      <MoreButton next={next} onMore={loadMore} />
    </>
  );
}

/** Import a CSV file (`emailAddress,reason` per line, as SES's import jobs read it) or download the whole list. */
function ImportExport(props: { onImported: () => void }) {
  const [file, setFile] = useState<File>();
  const [action, setAction] = useState<'PUT' | 'DELETE'>('PUT');
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<ImportResult>();
  const [error, setError] = useState('');

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!file) return;
    setBusy(true);
    setError('');
    setResult(undefined);
    file
      .text()
      .then((text) => importList(text, action))
      .then(
        (r) => {
          setResult(r);
          props.onImported();
        },
        (err: Error) => setError(err.message),
      )
      .finally(() => setBusy(false));
  };

  return (
    <details className="import-export">
      <summary>Import or export a CSV file</summary>
      <form className="inline" onSubmit={submit} aria-label="Import a CSV file">
        <label htmlFor="s-file">CSV file (emailAddress,reason per line)</label>
        <input id="s-file" type="file" accept=".csv,text/csv,text/plain" required onChange={(e) => setFile(e.target.files?.[0])} />
        <select aria-label="Import action" value={action} onChange={(e) => setAction(e.target.value as 'PUT' | 'DELETE')}>
          <option value="PUT">add to the list</option>
          <option value="DELETE">remove from the list</option>
        </select>
        <BusyButton busy={busy} busyText="Importing…" disabled={!file}>
          Import
        </BusyButton>
      </form>
      <Alert text={error} />
      {result && (
        <div role="status" data-testid="import-result">
          <p>
            {result.processed.toLocaleString('en-US')} {result.processed === 1 ? 'address' : 'addresses'} {action === 'PUT' ? 'added or updated' : 'removed'}
            {result.failed.length > 0 && `; ${result.failed.length.toLocaleString('en-US')} refused`}.
          </p>
          {result.failed.length > 0 && (
            <ul>
              {result.failed.slice(0, 50).map((f) => (
                <li key={f.line}>
                  line {f.line}: {f.value || '(empty)'} — {f.reason}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
      <p>
        <a href="/console/api/suppression/export" download>
          Download the whole list as CSV
        </a>
      </p>
    </details>
  );
}
