import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { createIdentity, identities, identity, putMailFrom, type IdentitySummary, type RecordView } from './api.ts';
import { Alert, BusyButton, ItemList, Loading, MoreButton, TableHead, usePaged } from './ui.tsx';

const STATUS_TEXT: Record<string, string> = { SUCCESS: 'Verified', PENDING: 'Pending', FAILED: 'Failed', TEMPORARY_FAILURE: 'Temporary failure', NOT_STARTED: 'Not started' };

function Status(props: { value: string }) {
  return <span className={`status status-${props.value.toLowerCase()}`}>{STATUS_TEXT[props.value] ?? props.value}</span>;
}

/** The identities of the account: search, paging, and a form to add a domain or an address. */
export function Identities(props: { onError: (err: Error) => void }) {
  const [search, setSearch] = useState('');
  const [name, setName] = useState('');
  const [error, setError] = useState('');
  const { items, next, loadMore } = usePaged((after) => identities(search, after), props.onError, [search]);

  const create = (e: FormEvent) => {
    e.preventDefault();
    setError('');
    createIdentity(name.trim()).then(
      (i) => {
        window.location.hash = `#/identities/${encodeURIComponent(i.name)}`;
      },
      (err: Error) => setError(err.message),
    );
  };

  return (
    <>
      <h1>Identities</h1>
      <form className="inline" onSubmit={create} aria-label="Create an identity">
        <label htmlFor="new-identity">Domain or email address</label>
        <input id="new-identity" required value={name} onChange={(e) => setName(e.target.value)} placeholder="example.com" />
        <button type="submit">Create identity</button>
      </form>
      <Alert text={error} />
      <label htmlFor="identity-search">Search</label>
      <input id="identity-search" type="search" value={search} onChange={(e) => setSearch(e.target.value)} />
      <ItemList items={items} empty={`No identities${search ? ` containing “${search}”` : ''} yet.`}>
        {(items) => (
          <table>
            <caption className="sr-only">Identities</caption>
            <TableHead columns={['Identity', 'Type', 'Status', 'DKIM']} />
            <tbody>
              {items.map((i) => (
                <tr key={i.name}>
                  <td>
                    <a href={`#/identities/${encodeURIComponent(i.name)}`}>{i.name}</a>
                  </td>
                  <td>{i.type === 'DOMAIN' ? 'Domain' : 'Email address'}</td>
                  <td>
                    <Status value={i.verificationStatus} />
                  </td>
                  <td>{i.type === 'DOMAIN' ? <Status value={i.dkim.status} /> : '–'}</td>
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

/** One identity: its status and the DNS records to publish, each checked live. */
export function IdentityPage(props: { name: string; onError: (err: Error) => void }) {
  const [i, setI] = useState<IdentitySummary & { records: RecordView[] }>();
  const [checking, setChecking] = useState(false);
  const { name, onError } = props;
  const check = useCallback(() => {
    setChecking(true);
    identity(name)
      .then(setI, onError)
      .finally(() => setChecking(false));
  }, [name, onError]);
  useEffect(check, [check]);

  if (!i) return <Loading />;
  return (
    <>
      <p>
        <a href="#/identities">Identities</a> /
      </p>
      <h1>{i.name}</h1>
      <dl className="facts">
        <div>
          <dt>Verification</dt>
          <dd data-testid="verification-status">
            <Status value={i.verificationStatus} />
          </dd>
        </div>
        {i.type === 'DOMAIN' && (
          <div>
            <dt>DKIM</dt>
            <dd>
              <Status value={i.dkim.status} /> {i.dkim.signingEnabled ? '(signing)' : '(not signing)'}
            </dd>
          </div>
        )}
        <div>
          <dt>MAIL FROM</dt>
          <dd data-testid="mail-from-status">
            {i.mailFrom ? (
              <>
                <code>{i.mailFrom.domain}</code> <Status value={i.mailFrom.status} />
              </>
            ) : (
              'the default (Sesame’s own bounce domain)'
            )}
          </dd>
        </div>
      </dl>
      <MailFromForm identity={i} onSaved={setI} />
      {i.type === 'DOMAIN' ? (
        <>
          <h2>DNS records</h2>
          <p>Publish these at your DNS provider. Each is looked up now through Sesame's resolver.</p>
          <button type="button" onClick={check} disabled={checking}>
            {checking ? 'Checking…' : 'Check DNS now'}
          </button>
          <ul className="records">
            {i.records.map((r) => (
              <li key={`${r.type} ${r.name} ${r.value}`} className={r.check.found ? 'ok' : 'missing'} data-testid="dns-record">
                <div className="record-head">
                  <strong>{r.type}</strong> <code>{r.name}</code>
                  <span className="check" role="status">
                    {r.check.found ? '✓ published' : `✗ ${r.check.error ?? (r.check.seen.length ? 'a different value is published' : 'not published')}`}
                  </span>
                </div>
                <code className="value">{r.value}</code>
                <div className="record-foot">
                  <span>{r.purpose}</span>
                  <button type="button" onClick={() => void navigator.clipboard?.writeText(r.value)} aria-label={`Copy the value of the ${r.type} record ${r.name}`}>
                    Copy value
                  </button>
                </div>
                {!r.check.found && r.check.seen.length > 0 && <p className="seen">The resolver saw: {r.check.seen.join(' | ')}</p>}
              </li>
            ))}
          </ul>
        </>
      ) : (
        <p>An address is verified by the link Sesame mailed to it.</p>
      )}
    </>
  );
}

/**
 * The identity's custom MAIL FROM domain (SES v2 PutEmailIdentityMailFromAttributes): a subdomain
 * whose MX and SPF records then appear among the DNS records; empty turns it off.
 */
function MailFromForm(props: { identity: IdentitySummary; onSaved: (i: IdentitySummary & { records: RecordView[] }) => void }) {
  const { identity: i, onSaved } = props;
  const [domain, setDomain] = useState(i.mailFrom?.domain ?? '');
  const [behavior, setBehavior] = useState(i.mailFrom?.behaviorOnMxFailure ?? 'USE_DEFAULT_VALUE');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError('');
    putMailFrom(i.name, domain.trim(), behavior)
      .then(() => identity(i.name))
      .then(onSaved, (err: Error) => setError(err.message))
      .finally(() => setBusy(false));
  };
  return (
    <form className="inline" onSubmit={submit} aria-label="Custom MAIL FROM domain">
      <label htmlFor="mail-from">Custom MAIL FROM domain (empty: the default)</label>
      <input id="mail-from" value={domain} placeholder={`bounce.${i.type === 'DOMAIN' ? i.name : i.name.slice(i.name.indexOf('@') + 1)}`} onChange={(e) => setDomain(e.target.value)} />
      <select aria-label="If its MX record is missing" value={behavior} onChange={(e) => setBehavior(e.target.value as typeof behavior)}>
        <option value="USE_DEFAULT_VALUE">if its MX is missing: use the default</option>
        <option value="REJECT_MESSAGE">if its MX is missing: reject the message</option>
      </select>
      <BusyButton busy={busy} busyText="Saving…">
        Save MAIL FROM
      </BusyButton>
      <Alert text={error} />
    </form>
  );
}
