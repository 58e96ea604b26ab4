import { useCallback, useEffect, useState, type FormEvent } from 'react';
import {
  createFilter,
  createRule,
  createRuleSet,
  deleteFilter,
  deleteRule,
  deleteRuleSet,
  filters as listFilters,
  moveRule,
  ruleSet,
  ruleSets,
  setActive,
  updateRule,
  type ReceiptAction,
  type ReceiptFilter,
  type ReceiptRule,
  type RuleSetView,
} from './receiving-api.ts';
import { Alert, BusyButton, ConfirmButton, ItemList, Loading, MoreButton, TableHead, usePaged } from './ui.tsx';

const when = (iso: string) => iso.replace('T', ' ').replace(/(:\d\d)\.\d+Z$/, '$1 UTC');

function ActiveBadge(props: { active: boolean }) {
  return props.active ? <span className="status status-success">Active</span> : <span className="status">Inactive</span>;
}

/** A cell's column name, shown only where the table's head is hidden (narrow screens). */
function CellLabel(props: { text: string }) {
  return <span className="rcv-cell-label">{props.text}: </span>;
}

/** A Delete button that asks the question ("Delete rule x?") once more before it acts. */
function DeleteButton(props: { question: string; onConfirm: () => void }) {
  return (
    <ConfirmButton
      label="Delete"
      ariaLabel={props.question.replace(/\?$/, '')}
      question={props.question}
      yes="Yes, delete"
      yesClassName="rcv-destructive"
      wrapper={{ as: 'span', className: 'rcv-confirm', groupLabel: props.question }}
      onConfirm={props.onConfirm}
    />
  );
}

/** The last part of an ARN (a topic's or function's name), for short summaries. */
const arnName = (arn: string) => arn.slice(arn.lastIndexOf(':') + 1);

/** One action in a few words: "S3 → bucket/prefix", "SNS → topic", "Stop". */
export function actionSummary(a: ReceiptAction): string {
  if (a.s3) return `S3 → ${a.s3.bucketName}/${a.s3.objectKeyPrefix ?? ''}`;
  if (a.sns) return `SNS → ${arnName(a.sns.topicArn)}${a.sns.encoding === 'Base64' ? ' (Base64)' : ''}`;
  if (a.lambda) return `Lambda → ${arnName(a.lambda.functionArn)} (${a.lambda.invocationType ?? 'Event'})`;
  if (a.bounce) return `Bounce ${a.bounce.smtpReplyCode}${a.bounce.statusCode ? ` ${a.bounce.statusCode}` : ''} from ${a.bounce.sender}`;
  if (a.addHeader) return `Add header ${a.addHeader.headerName}: ${a.addHeader.headerValue}`;
  if (a.stop) return 'Stop';
  if (a.workmail) return 'WorkMail';
  return '?';
}

// ---- the list of rule sets, and IP filters --------------------------------------------------------

/** Receiving: the account's rule sets (which is active), a form to create or copy one, and the IP filters. */
export function Receiving(props: { onError: (err: Error) => void }) {
  const [name, setName] = useState('');
  const [cloneFrom, setCloneFrom] = useState('');
  const [error, setError] = useState('');
  const { onError } = props;
  const { items, next, loadMore, reload } = usePaged((nextToken) => ruleSets(nextToken).then((p) => ({ items: p.ruleSets, nextToken: p.nextToken })), onError, []);

  const fail = (err: Error) => setError(err.message);
  const act = (p: Promise<unknown>) => {
    setError('');
    p.then(reload, fail);
  };

  const create = (e: FormEvent) => {
    e.preventDefault();
    setError('');
    createRuleSet(name.trim(), cloneFrom || undefined).then((s) => {
      window.location.hash = `#/receiving/${encodeURIComponent(s.name)}`;
    }, fail);
  };

  const active = items?.find((s) => s.active);
  return (
    <>
      <h1>Receiving</h1>
      <p>
        Mail that reaches Sesame's MX for your verified domains goes through the <strong>active</strong> rule set: its rules run in order, each for the recipients it names. With no active set,
        Sesame receives no mail for the account.
      </p>
      <p data-testid="active-rule-set">{active ? <>Active rule set: <strong>{active.name}</strong></> : items ? 'No rule set is active: receiving is off.' : ''}</p>
      <form className="inline" onSubmit={create} aria-label="Create a rule set">
        <label htmlFor="rcv-new-set">Rule set name</label>
        <input id="rcv-new-set" required value={name} onChange={(e) => setName(e.target.value)} placeholder="inbound" />
        <select aria-label="Copy rules from" value={cloneFrom} onChange={(e) => setCloneFrom(e.target.value)}>
          <option value="">empty (no rules)</option>
          {(items ?? []).map((s) => (
            <option key={s.name} value={s.name}>
              copy of {s.name}
            </option>
          ))}
        </select>
        <button type="submit">Create rule set</button>
      </form>
      <Alert text={error} testId="rule-sets-error" />
      <ItemList items={items} empty="No rule sets yet.">
        {(items) => (
          <table>
            <caption className="sr-only">Receipt rule sets</caption>
            <TableHead columns={['Rule set', 'Created', 'Status']} actions="Actions" />
            <tbody>
              {items.map((s) => (
                <tr key={s.name} data-testid="rule-set">
                  <td>
                    <a href={`#/receiving/${encodeURIComponent(s.name)}`}>{s.name}</a>
                  </td>
                  <td>{when(s.createdAt)}</td>
                  <td>
                    <ActiveBadge active={s.active} />
                  </td>
                  <td className="rcv-controls">
                    {s.active ? (
                      <button type="button" aria-label={`Deactivate ${s.name}`} onClick={() => act(setActive(null))}>
                        Deactivate
                      </button>
                    ) : (
                      <button type="button" aria-label={`Make ${s.name} active`} onClick={() => act(setActive(s.name))}>
                        Make active
                      </button>
                    )}
                    <DeleteButton question={`Delete rule set ${s.name}?`} onConfirm={() => act(deleteRuleSet(s.name))} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </ItemList>
      <MoreButton next={next} onMore={loadMore} />
      <Filters onError={onError} />
    </>
  );
}

/** IP filters: addresses and ranges whose connections the MX always refuses (Block) or always accepts (Allow). */
function Filters(props: { onError: (err: Error) => void }) {
  const [items, setItems] = useState<ReceiptFilter[]>();
  const [name, setName] = useState('');
  const [cidr, setCidr] = useState('');
  const [policy, setPolicy] = useState<'Block' | 'Allow'>('Block');
  const [error, setError] = useState('');
  const { onError } = props;

  const load = useCallback(() => listFilters().then((f) => setItems(f.items), onError), [onError]);
  useEffect(() => void load(), [load]);

  const add = (e: FormEvent) => {
    e.preventDefault();
    setError('');
    createFilter({ name: name.trim(), cidr: cidr.trim(), policy }).then(
      (f) => {
        setItems(f.items);
        setName('');
        setCidr('');
      },
      (err: Error) => setError(err.message),
    );
  };

  return (
    <section aria-labelledby="rcv-filters-h">
      <h2 id="rcv-filters-h">IP filters</h2>
      <p className="muted">Connections from a blocked address are refused before any rule runs; an allowed range is accepted even when a broader one is blocked.</p>
      <form onSubmit={add} aria-label="Add an IP filter" className="rcv-grid">
        <div>
          <label htmlFor="rcv-filter-name">Filter name</label>
          <input id="rcv-filter-name" required value={name} onChange={(e) => setName(e.target.value)} />
        </div>
        <div>
          <label htmlFor="rcv-filter-cidr">IP address or CIDR range</label>
          <input id="rcv-filter-cidr" required value={cidr} onChange={(e) => setCidr(e.target.value)} placeholder="192.0.2.0/24" />
        </div>
        <div>
          <label htmlFor="rcv-filter-policy">Policy</label>
          <select id="rcv-filter-policy" value={policy} onChange={(e) => setPolicy(e.target.value as 'Block' | 'Allow')}>
            <option value="Block">Block</option>
            <option value="Allow">Allow</option>
          </select>
        </div>
        <div>
          <button type="submit">Add filter</button>
        </div>
      </form>
      <Alert text={error} testId="filters-error" />
      <ItemList items={items} empty="No IP filters.">
        {(items) => (
          <table>
            <caption className="sr-only">IP filters</caption>
            <TableHead columns={['Filter', 'Range', 'Policy']} actions="Actions" />
            <tbody>
              {items.map((f) => (
                <tr key={f.name} data-testid="ip-filter">
                  <td>{f.name}</td>
                  <td>
                    <code>{f.cidr}</code>
                  </td>
                  <td>{f.policy === 'Block' ? <span className="status status-failed">Block</span> : <span className="status status-success">Allow</span>}</td>
                  <td>
                    <DeleteButton
                      question={`Delete IP filter ${f.name}?`}
                      onConfirm={() => {
                        setError('');
                        deleteFilter(f.name).then(() => load(), (err: Error) => setError(err.message));
                      }}
                    />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </ItemList>
    </section>
  );
}

// ---- one rule set: its rules in order -------------------------------------------------------------

/** One rule set: its rules in evaluation order, moved, enabled, edited, deleted; a form to add one. */
export function RuleSetPage(props: { name: string; onError: (err: Error) => void }) {
  const [set, setSet] = useState<RuleSetView>();
  const [error, setError] = useState('');
  const [editing, setEditing] = useState<ReceiptRule>();
  const [formKey, setFormKey] = useState(0);
  const { name, onError } = props;

  useEffect(() => {
    ruleSet(name).then(setSet, onError);
  }, [name, onError]);

  const fail = (err: Error) => setError(err.message);
  const change = (p: Promise<RuleSetView>) => {
    setError('');
    p.then(setSet, fail);
  };
  const activate = (on: boolean) => {
    setError('');
    setActive(on ? name : null).then((a) => setSet((s) => s && { ...s, active: a.active === s.name }), fail);
  };

  if (!set) return <Loading />;
  const rules = set.rules;
  return (
    <>
      <p>
        <a href="#/receiving">Receiving</a> /
      </p>
      <h1>{set.name}</h1>
      <dl className="facts">
        <div>
          <dt>Status</dt>
          <dd data-testid="rule-set-status">
            <ActiveBadge active={set.active} />
          </dd>
        </div>
        <div>
          <dt>Created</dt>
          <dd>{when(set.createdAt)}</dd>
        </div>
        <div>
          <dt>Rules</dt>
          <dd>{rules.length}</dd>
        </div>
      </dl>
      <p className="rcv-controls">
        {set.active ? (
          <button type="button" onClick={() => activate(false)}>
            Deactivate
          </button>
        ) : (
          <button type="button" onClick={() => activate(true)}>
            Make active
          </button>
        )}
      </p>
      <Alert text={error} testId="rules-error" />
      <h2>Rules, in the order they run</h2>
      {rules.length === 0 ? (
        <p>No rules yet: add one below.</p>
      ) : (
        <table className="rcv-rules">
          <caption className="sr-only">Receipt rules of {set.name}, in order</caption>
          <TableHead columns={['#', 'Rule', 'Enabled', 'Recipients', 'TLS required', 'Scan', 'Actions']} actions="Controls" />
          <tbody>
            {rules.map((r, i) => (
              <tr key={r.name} data-testid="receipt-rule">
                <td>{i + 1}</td>
                <td data-testid="rule-name">
                  <strong>{r.name}</strong>
                </td>
                <td>{r.enabled ? <span className="status status-success">Enabled</span> : <span className="status">Disabled</span>}</td>
                <td>
                  <CellLabel text="Recipients" />
                  {r.recipients.length ? r.recipients.join(', ') : <span className="muted">all verified domains</span>}
                </td>
                <td>
                  <CellLabel text="TLS required" />
                  {r.tlsPolicy === 'Require' ? 'yes' : 'no'}
                </td>
                <td>
                  <CellLabel text="Scan" />
                  {r.scanEnabled ? 'yes' : 'no'}
                </td>
                <td>
                  <CellLabel text="Actions" />
                  <span data-testid="rule-actions">{r.actions.length ? r.actions.map(actionSummary).join(', ') : <span className="muted">none</span>}</span>
                </td>
                <td className="rcv-controls">
                  <button type="button" aria-label={`Move ${r.name} up`} disabled={i === 0} onClick={() => change(moveRule(name, r.name, i >= 2 ? rules[i - 2]!.name : null))}>
                    Move up
                  </button>
                  <button type="button" aria-label={`Move ${r.name} down`} disabled={i === rules.length - 1} onClick={() => change(moveRule(name, r.name, rules[i + 1]!.name))}>
                    Move down
                  </button>
                  <button type="button" aria-label={`${r.enabled ? 'Disable' : 'Enable'} ${r.name}`} onClick={() => change(updateRule(name, { ...r, enabled: !r.enabled }))}>
                    {r.enabled ? 'Disable' : 'Enable'}
                  </button>
                  <button type="button" aria-label={`Edit ${r.name}`} onClick={() => setEditing(r)}>
                    Edit
                  </button>
                  <DeleteButton question={`Delete rule ${r.name}?`} onConfirm={() => change(deleteRule(name, r.name))} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <RuleForm
        key={editing ? `edit-${editing.name}-${formKey}` : `new-${formKey}`}
        setName={name}
        rules={rules}
        editing={editing}
        onDone={(s) => {
          setSet(s);
          setEditing(undefined);
          setFormKey((k) => k + 1);
        }}
        onCancel={() => setEditing(undefined)}
      />
    </>
  );
}

// ---- the rule form and its action list ----------------------------------------------------------

type ActionType = 's3' | 'sns' | 'bounce' | 'addHeader' | 'lambda' | 'stop';

interface FieldDef {
  key: string;
  label: string;
  required?: boolean;
  placeholder?: string;
  options?: string[];
}

/** The action types the form edits, with their fields (core's member names). */
const ACTION_TYPES: Record<ActionType, { label: string; fields: FieldDef[] }> = {
  s3: {
    label: 'S3: store the message',
    fields: [
      { key: 'bucketName', label: 'Bucket', required: true },
      { key: 'objectKeyPrefix', label: 'Object key prefix', placeholder: 'inbound/' },
      { key: 'topicArn', label: 'Notify SNS topic ARN (optional)' },
    ],
  },
  sns: {
    label: 'SNS: publish the message',
    fields: [
      { key: 'topicArn', label: 'Topic ARN', required: true, placeholder: 'arn:aws:sns:…' },
      { key: 'encoding', label: 'Encoding', options: ['UTF-8', 'Base64'] },
    ],
  },
  bounce: {
    label: 'Bounce: reply to the sender',
    fields: [
      { key: 'sender', label: 'Bounce sender (a verified address)', required: true, placeholder: 'mailer-daemon@example.com' },
      { key: 'smtpReplyCode', label: 'SMTP reply code', required: true, placeholder: '550' },
      { key: 'statusCode', label: 'Status code', placeholder: '5.1.1' },
      { key: 'message', label: 'Message', required: true, placeholder: 'Mailbox does not exist' },
      { key: 'topicArn', label: 'Notify SNS topic ARN (optional)' },
    ],
  },
  addHeader: {
    label: 'Add header',
    fields: [
      { key: 'headerName', label: 'Header name', required: true, placeholder: 'X-Received-By' },
      { key: 'headerValue', label: 'Header value', required: true },
    ],
  },
  lambda: {
    label: 'Lambda: invoke a function',
    fields: [
      { key: 'functionArn', label: 'Function ARN', required: true, placeholder: 'arn:aws:lambda:…' },
      { key: 'invocationType', label: 'Invocation type', options: ['Event', 'RequestResponse'] },
      { key: 'topicArn', label: 'Notify SNS topic ARN (optional)' },
    ],
  },
  stop: {
    label: 'Stop: no further rules run',
    fields: [{ key: 'topicArn', label: 'Notify SNS topic ARN (optional)' }],
  },
};

interface ActionDraft {
  id: number;
  type: ActionType;
  fields: Record<string, string>;
}

let nextDraftId = 1;

function draftOf(a: ReceiptAction): ActionDraft | undefined {
  for (const type of Object.keys(ACTION_TYPES) as ActionType[]) {
    const v = a[type] as Record<string, string | undefined> | undefined;
    if (v) return { id: nextDraftId++, type, fields: Object.fromEntries(Object.entries(v).filter((e): e is [string, string] => typeof e[1] === 'string')) };
  }
  return undefined;
}

/** The action as the API takes it: empty fields left out, defaults for selects. */
function actionOf(d: ActionDraft): ReceiptAction {
  const out: Record<string, string> = {};
  for (const f of ACTION_TYPES[d.type].fields) {
    const v = (d.fields[f.key] ?? '').trim();
    if (v !== '') out[f.key] = v;
    else if (f.options) out[f.key] = f.options[0]!;
  }
  if (d.type === 'stop') out.scope = 'RuleSet';
  return { [d.type]: out } as ReceiptAction;
}

function RuleForm(props: { setName: string; rules: ReceiptRule[]; editing?: ReceiptRule; onDone: (s: RuleSetView) => void; onCancel: () => void }) {
  const e = props.editing;
  const [name, setName] = useState(e?.name ?? '');
  const [after, setAfter] = useState(props.rules.at(-1)?.name ?? '');
  const [enabled, setEnabled] = useState(e?.enabled ?? true);
  const [recipients, setRecipients] = useState(e?.recipients.join(', ') ?? '');
  const [tlsPolicy, setTlsPolicy] = useState<'Optional' | 'Require'>(e?.tlsPolicy ?? 'Optional');
  const [scanEnabled, setScanEnabled] = useState(e?.scanEnabled ?? false);
  const [actions, setActions] = useState<ActionDraft[]>(() => (e?.actions ?? []).map(draftOf).filter((d): d is ActionDraft => d !== undefined));
  const [newType, setNewType] = useState<ActionType>('s3');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);

  const submit = (ev: FormEvent) => {
    ev.preventDefault();
    setError('');
    setBusy(true);
    const rule: ReceiptRule = {
      name: name.trim(),
      enabled,
      tlsPolicy,
      scanEnabled,
      recipients: recipients
        .split(',')
        .map((r) => r.trim())
        .filter(Boolean),
      actions: actions.map(actionOf),
    };
    (e ? updateRule(props.setName, rule) : createRule(props.setName, rule, after || null))
      .then(props.onDone, (err: Error) => setError(err.message))
      .finally(() => setBusy(false));
  };

  const setField = (id: number, key: string, value: string) => setActions((list) => list.map((d) => (d.id === id ? { ...d, fields: { ...d.fields, [key]: value } } : d)));
  const swap = (i: number, j: number) =>
    setActions((list) => {
      const copy = [...list];
      [copy[i], copy[j]] = [copy[j]!, copy[i]!];
      return copy;
    });

  return (
    <section aria-labelledby="rcv-rule-form-h" className="rcv-rule-form">
      <h2 id="rcv-rule-form-h">{e ? `Edit rule ${e.name}` : 'Add a rule'}</h2>
      <form onSubmit={submit} aria-label={e ? `Edit rule ${e.name}` : 'Add a rule'}>
        <div className="rcv-grid">
          <div>
            <label htmlFor="rcv-rule-name">Rule name</label>
            <input id="rcv-rule-name" required readOnly={Boolean(e)} value={name} onChange={(ev) => setName(ev.target.value)} />
          </div>
          {!e && (
            <div>
              <label htmlFor="rcv-rule-after">Position</label>
              <select id="rcv-rule-after" value={after} onChange={(ev) => setAfter(ev.target.value)}>
                <option value="">first</option>
                {props.rules.map((r) => (
                  <option key={r.name} value={r.name}>
                    after {r.name}
                  </option>
                ))}
              </select>
            </div>
          )}
          <div>
            <label htmlFor="rcv-rule-recipients">Recipients (comma-separated; empty: all your verified domains)</label>
            <input id="rcv-rule-recipients" value={recipients} onChange={(ev) => setRecipients(ev.target.value)} placeholder="support@example.com, example.org" />
          </div>
          <div>
            <label htmlFor="rcv-rule-tls">TLS</label>
            <select id="rcv-rule-tls" value={tlsPolicy} onChange={(ev) => setTlsPolicy(ev.target.value as 'Optional' | 'Require')}>
              <option value="Optional">optional</option>
              <option value="Require">required (bounce mail received without TLS)</option>
            </select>
          </div>
        </div>
        <div className="rcv-checks">
          <span>
            <input id="rcv-rule-enabled" type="checkbox" checked={enabled} onChange={(ev) => setEnabled(ev.target.checked)} />
            <label htmlFor="rcv-rule-enabled">Enabled</label>
          </span>
          <span>
            <input id="rcv-rule-scan" type="checkbox" checked={scanEnabled} onChange={(ev) => setScanEnabled(ev.target.checked)} />
            <label htmlFor="rcv-rule-scan">Scan for spam and viruses</label>
          </span>
        </div>
        <fieldset className="rcv-actions">
          <legend>Actions, in the order they run</legend>
          {actions.length === 0 && <p className="muted">No actions: the rule only accepts the mail.</p>}
          <ol>
            {actions.map((d, i) => (
              <li key={d.id} data-testid="action-draft">
                <div className="rcv-action-head">
                  <strong>
                    {i + 1}. {ACTION_TYPES[d.type].label}
                  </strong>
                  <span className="rcv-controls">
                    <button type="button" aria-label={`Move action ${i + 1} up`} disabled={i === 0} onClick={() => swap(i, i - 1)}>
                      ↑
                    </button>
                    <button type="button" aria-label={`Move action ${i + 1} down`} disabled={i === actions.length - 1} onClick={() => swap(i, i + 1)}>
                      ↓
                    </button>
                    <button type="button" aria-label={`Remove action ${i + 1}`} onClick={() => setActions((list) => list.filter((x) => x.id !== d.id))}>
                      Remove
                    </button>
                  </span>
                </div>
                <div className="rcv-grid">
                  {ACTION_TYPES[d.type].fields.map((f) => {
                    const id = `rcv-action-${d.id}-${f.key}`;
                    return (
                      <div key={f.key}>
                        <label htmlFor={id}>
                          {f.label}
                          <span className="sr-only"> (action {i + 1})</span>
                        </label>
                        {f.options ? (
                          <select id={id} value={d.fields[f.key] ?? f.options[0]} onChange={(ev) => setField(d.id, f.key, ev.target.value)}>
                            {f.options.map((o) => (
                              <option key={o} value={o}>
                                {o}
                              </option>
                            ))}
                          </select>
                        ) : (
                          <input id={id} required={f.required} value={d.fields[f.key] ?? ''} placeholder={f.placeholder} onChange={(ev) => setField(d.id, f.key, ev.target.value)} />
                        )}
                      </div>
                    );
                  })}
                </div>
              </li>
            ))}
          </ol>
          <div className="rcv-add-action">
            <label htmlFor="rcv-new-action">Action type</label>
            <select id="rcv-new-action" value={newType} onChange={(ev) => setNewType(ev.target.value as ActionType)}>
              {(Object.keys(ACTION_TYPES) as ActionType[]).map((t) => (
                <option key={t} value={t}>
                  {ACTION_TYPES[t].label}
                </option>
              ))}
            </select>
            <button type="button" onClick={() => setActions((list) => [...list, { id: nextDraftId++, type: newType, fields: {} }])}>
              Add action
            </button>
          </div>
        </fieldset>
        <Alert text={error} testId="rule-form-error" />
        <p className="rcv-controls">
          <BusyButton busy={busy}>{e ? 'Save rule' : 'Create rule'}</BusyButton>
          {e && (
            <button type="button" onClick={props.onCancel}>
              Cancel
            </button>
          )}
        </p>
      </form>
    </section>
  );
}
