import { Fragment, useCallback, useEffect, useState, type FormEvent } from 'react';
import { accessKeys, createAccessKey, putKeyPolicy, revokeAccessKey, type AccessKeyRow, type CreatedKey } from './keys-api.ts';
import { Alert, BusyButton, Loading, TableHead } from './ui.tsx';

const DEFAULT_POLICY_HINT = '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ses:*", "Resource": "*"}]}';

const when = (iso: string) => iso.replace('T', ' ').replace(/\.\d+Z$/, ' UTC');

/**
 * The account's access keys: the list (never a secret), a new key whose secret and SMTP password
 * are shown once, revoking with a confirm step, and each non-root key's policy. Leaving the page
 * forgets a new key's secret: only this component's state ever held it.
 */
export function AccessKeys(props: { onError: (err: Error) => void }) {
  const [items, setItems] = useState<AccessKeyRow[]>();
  const [created, setCreated] = useState<CreatedKey>();
  const [confirming, setConfirming] = useState<string>();
  const [editing, setEditing] = useState<string>();
  const [error, setError] = useState('');
  const { onError } = props;

  const load = useCallback(() => accessKeys().then((r) => setItems(r.items), onError), [onError]);
  useEffect(() => void load(), [load]);

  const revoke = (id: string) => {
    setError('');
    revokeAccessKey(id).then(
      () => {
        setConfirming(undefined);
        // Revoking the session's own key ended the session on the server: this call answers 401
        // and the console goes back to the sign-in form.
        void load();
      },
      (err: Error & { status?: number }) => (err.status === 401 ? onError(err) : setError(err.message)),
    );
  };

  return (
    <>
      <h1>Access keys</h1>
      <p>
        An access key pair signs API calls; its ID with the SMTP password derived from its secret logs in to SMTP submission. Managing keys here needs the IAM actions <code>iam:ListAccessKeys</code>,{' '}
        <code>iam:CreateAccessKey</code>, <code>iam:UpdateAccessKey</code> and <code>iam:PutUserPolicy</code> in your key's policy (root keys have them; only a root key may revoke a root key).
      </p>
      <CreateKey onCreated={(k) => (setCreated(k), void load())} onError={onError} />
      {created && <NewKeyPanel k={created} onDone={() => setCreated(undefined)} />}
      <Alert text={error} />
      {!items ? (
        <Loading />
      ) : (
        <table className="keys">
          <caption className="sr-only">Access keys of the account</caption>
          <TableHead columns={['Access key ID', 'Description', 'Status', 'Root', 'Created']} actions="Actions" />
          <tbody>
            {items.map((k) => (
              <Fragment key={k.accessKeyId}>
                <tr data-testid="key-row" data-key-id={k.accessKeyId}>
                  <td>
                    <code>{k.accessKeyId}</code>
                    {k.thisSession && <span className="status key-this-session"> this session</span>}
                  </td>
                  <td>{k.description || <span className="muted">no description</span>}</td>
                  <td className="key-nowrap">
                    <span className={`status ${k.status === 'Active' ? 'status-success' : ''}`}>{k.status}</span>
                  </td>
                  <td className="key-nowrap">{k.isRoot ? 'root key' : <span className="muted">not root</span>}</td>
                  <td>
                    <span className="key-label">Created </span>
                    {when(k.createdAt)}
                  </td>
                  <td className="key-nowrap">
                    <div className="actions">
                      {!k.isRoot && (
                        <button type="button" aria-expanded={editing === k.accessKeyId} aria-label={`Edit the policy of ${k.accessKeyId}`} onClick={() => setEditing(editing === k.accessKeyId ? undefined : k.accessKeyId)}>
                          Policy
                        </button>
                      )}
                      {k.status === 'Active' && (
                        <button type="button" className="danger" aria-label={`Revoke ${k.accessKeyId}`} onClick={() => (setError(''), setConfirming(k.accessKeyId))}>
                          Revoke
                        </button>
                      )}
                    </div>
                  </td>
                </tr>
                {confirming === k.accessKeyId && (
                  <tr className="key-panel">
                    <td colSpan={6}>
                      <div role="group" aria-label={`Confirm revoking ${k.accessKeyId}`} className="key-confirm">
                        <p>
                          Revoke <code>{k.accessKeyId}</code>? API calls, SMTP logins and console sessions with it stop at once, and it cannot be made active again.
                          {k.thisSession && <strong> It is the key of this session: you will be signed out.</strong>}
                        </p>
                        <div className="actions">
                          <button type="button" className="danger" onClick={() => revoke(k.accessKeyId)}>
                            Revoke key
                          </button>
                          <button type="button" onClick={() => setConfirming(undefined)}>
                            Cancel
                          </button>
                        </div>
                      </div>
                    </td>
                  </tr>
                )}
                {editing === k.accessKeyId && (
                  <tr className="key-panel">
                    <td colSpan={6}>
                      <PolicyEditor k={k} onSaved={() => void load()} onClose={() => setEditing(undefined)} onError={onError} />
                    </td>
                  </tr>
                )}
              </Fragment>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

function CreateKey(props: { onCreated: (k: CreatedKey) => void; onError: (err: Error) => void }) {
  const [description, setDescription] = useState('');
  const [policy, setPolicy] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    setError('');
    setBusy(true);
    createAccessKey(description, policy)
      .then(
        (k) => {
          setDescription('');
          setPolicy('');
          props.onCreated(k);
        },
        (err: Error & { status?: number }) => (err.status === 401 ? props.onError(err) : setError(err.message)),
      )
      .finally(() => setBusy(false));
  };

  return (
    <form onSubmit={submit} aria-label="Create an access key" className="key-create">
      <h2>Create an access key</h2>
      <label htmlFor="k-description">Description</label>
      <input id="k-description" maxLength={256} value={description} onChange={(e) => setDescription(e.target.value)} placeholder="what the key is for" />
      <label htmlFor="k-policy">Policy (JSON, optional)</label>
      <textarea id="k-policy" rows={5} spellCheck={false} value={policy} onChange={(e) => setPolicy(e.target.value)} aria-describedby="k-policy-hint" placeholder={DEFAULT_POLICY_HINT} />
      <p id="k-policy-hint" className="muted">
        Left blank, the key may call every SES action (<code>ses:*</code>) and nothing else.
      </p>
      <BusyButton busy={busy} busyText="Creating…">
        Create key
      </BusyButton>
      <Alert text={error} />
    </form>
  );
}

/** The new key's credentials, shown this once. */
function NewKeyPanel(props: { k: CreatedKey; onDone: () => void }) {
  const { k } = props;
  const [copied, setCopied] = useState('');
  const copy = (what: string, text: string) => {
    const clipboard = typeof navigator !== 'undefined' ? navigator.clipboard : undefined;
    if (!clipboard) {
      setCopied(`Copying needs HTTPS: select the ${what} and copy it yourself.`);
      return;
    }
    clipboard.writeText(text).then(
      () => setCopied(`${what[0]!.toUpperCase()}${what.slice(1)} copied.`),
      () => setCopied(`Could not copy: select the ${what} and copy it yourself.`),
    );
  };
  const fields: Array<[string, string, string]> = [
    ['access key ID', k.accessKeyId, 'new-key-id'],
    ['secret access key', k.secretAccessKey, 'new-key-secret'],
    [`SMTP password (region ${k.region})`, k.smtpPassword, 'new-key-smtp-password'],
  ];
  return (
    <section aria-labelledby="new-key-h" className="key-created" data-testid="created-key">
      <h2 id="new-key-h">New access key {k.description ? `“${k.description}”` : ''}</h2>
      <p className="key-warning">
        <strong>Copy the secret access key and the SMTP password now. They will not be shown again:</strong> Sesame keeps the secret only encrypted and never displays it after this. If you lose it,
        create another key and revoke this one.
      </p>
      <dl>
        {fields.map(([label, value, testId]) => (
          <div key={testId}>
            <dt>{label[0]!.toUpperCase() + label.slice(1)}</dt>
            <dd>
              <code data-testid={testId}>{value}</code>{' '}
              <button type="button" aria-label={`Copy the ${label.replace(/ \(.*\)$/, '')}`} onClick={() => copy(label.replace(/ \(.*\)$/, ''), value)}>
                Copy
              </button>
            </dd>
          </div>
        ))}
      </dl>
      <p className="muted">
        SMTP user name: the access key ID. The SMTP password works in region {k.region} only.
      </p>
      <p role="status" className="muted">
        {copied}
      </p>
      <button type="button" onClick={props.onDone}>
        I have stored them
      </button>
    </section>
  );
}

function PolicyEditor(props: { k: AccessKeyRow; onSaved: () => void; onClose: () => void; onError: (err: Error) => void }) {
  const { k } = props;
  const [text, setText] = useState(() => JSON.stringify(k.policy, null, 2));
  const [error, setError] = useState('');
  const [saved, setSaved] = useState(false);
  const [busy, setBusy] = useState(false);
  const id = `policy-${k.accessKeyId}`;

  const save = (e: FormEvent) => {
    e.preventDefault();
    setError('');
    setSaved(false);
    setBusy(true);
    putKeyPolicy(k.accessKeyId, text)
      .then(
        (updated) => {
          setText(JSON.stringify(updated.policy, null, 2));
          setSaved(true);
          props.onSaved();
        },
        (err: Error & { status?: number }) => (err.status === 401 ? props.onError(err) : setError(err.message)),
      )
      .finally(() => setBusy(false));
  };

  return (
    <form onSubmit={save} aria-label={`Edit the policy of ${k.accessKeyId}`} className="key-policy">
      <label htmlFor={id}>Policy of {k.accessKeyId}</label>
      <textarea id={id} rows={10} spellCheck={false} value={text} onChange={(e) => (setText(e.target.value), setSaved(false))} />
      <div className="actions">
        <BusyButton busy={busy} busyText="Saving…">
          Save
        </BusyButton>
        <button type="button" onClick={props.onClose}>
          Close
        </button>
      </div>
      <Alert text={error} />
      <p role="status" className="muted">
        {saved ? 'Saved: the new policy applies to the next request made with this key.' : ''}
      </p>
    </form>
  );
}
