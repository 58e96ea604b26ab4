import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { ApiError } from './api.ts';
import {
  configurationSet,
  configurationSets,
  createConfigurationSet,
  createDestination,
  deleteConfigurationSet,
  deleteDestination,
  EVENT_TYPES,
  putOptions,
  updateDestination,
  type Destination,
  type DestinationInput,
  type EventType,
  type SetOptions,
  type SetView,
} from './configuration-sets-api.ts';
import { Alert, BusyButton, ConfirmButton, ItemList, Loading, MoreButton, TableHead, usePaged } from './ui.tsx';

const TYPE_TEXT: Record<EventType, string> = {
  SEND: 'Send',
  REJECT: 'Reject',
  BOUNCE: 'Bounce',
  COMPLAINT: 'Complaint',
  DELIVERY: 'Delivery',
  OPEN: 'Open',
  CLICK: 'Click',
  RENDERING_FAILURE: 'Rendering failure',
  DELIVERY_DELAY: 'Delivery delay',
  SUBSCRIPTION: 'Subscription',
};

const when = (iso: string) => iso.replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
const href = (name: string) => `#/configuration-sets/${encodeURIComponent(name)}`;

/** The account's configuration sets: a name filter, paging, and a form to create one. */
export function ConfigurationSets(props: { onError: (err: Error) => void }) {
  const [filter, setFilter] = useState('');
  const [name, setName] = useState('');
  const [error, setError] = useState('');
  const { items, next, loadMore } = usePaged((after) => configurationSets(filter.trim(), after), props.onError, [filter]);

  const create = (e: FormEvent) => {
    e.preventDefault();
    setError('');
    createConfigurationSet(name.trim()).then(
      (s) => {
        window.location.hash = href(s.name);
      },
      (err: Error) => setError(err.message),
    );
  };

  return (
    <>
      <h1>Configuration sets</h1>
      <p>Sends that name a configuration set follow its options and publish their events to its event destinations.</p>
      <form className="inline" onSubmit={create} aria-label="Create a configuration set">
        <label htmlFor="new-set">Configuration set name</label>
        <input id="new-set" required value={name} onChange={(e) => setName(e.target.value)} placeholder="marketing" autoComplete="off" />
        <button type="submit">Create configuration set</button>
      </form>
      <Alert text={error} />
      <div className="cs-filter" role="search">
        <label htmlFor="set-filter">Filter by name</label>
        <input id="set-filter" type="search" value={filter} onChange={(e) => setFilter(e.target.value)} />
      </div>
      <ItemList items={items} empty={`No configuration sets${filter.trim() ? ` containing “${filter.trim()}”` : ''} yet.`}>
        {(items) => (
          <table>
            <caption className="sr-only">Configuration sets</caption>
            <TableHead columns={['Name', 'Created']} />
            <tbody>
              {items.map((s) => (
                <tr key={s.name} data-testid="configuration-set">
                  <td>
                    <a href={href(s.name)}>{s.name}</a>
                  </td>
                  <td>{when(s.createdAt)}</td>
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

/** One configuration set: its options as a form, its event destinations as a table, and deletion. */
export function ConfigurationSetPage(props: { name: string; onError: (err: Error) => void }) {
  const [set, setSet] = useState<SetView>();
  const [loadError, setLoadError] = useState('');
  const [deleteError, setDeleteError] = useState('');
  const { name, onError } = props;

  const reload = useCallback(
    () =>
      configurationSet(name).then(setSet, (err: Error) => {
        if (err instanceof ApiError && err.status === 401) onError(err);
        else setLoadError(err.message);
      }),
    [name, onError],
  );
  useEffect(() => {
    void reload();
  }, [reload]);

  /** Deletes the set and goes back to the list; a refusal shows under the question, which stays. */
  const remove = () => {
    setDeleteError('');
    return deleteConfigurationSet(name).then(
      () => {
        window.location.hash = '#/configuration-sets';
      },
      (err: Error) => setDeleteError(err.message),
    );
  };

  const crumbs = (
    <p>
      <a href="#/configuration-sets">Configuration sets</a> /
    </p>
  );
  if (loadError)
    return (
      <>
        {crumbs}
        <h1>{name}</h1>
        <Alert text={loadError} />
      </>
    );
  if (!set) return <Loading />;
  return (
    <>
      {crumbs}
      <h1>{set.name}</h1>
      <dl className="facts">
        <div>
          <dt>Created</dt>
          <dd>{when(set.createdAt)}</dd>
        </div>
        <div>
          <dt>Sending</dt>
          <dd data-testid="set-sending">{set.options.sending.sendingEnabled ? 'enabled' : 'paused'}</dd>
        </div>
        <div>
          <dt>Event destinations</dt>
          <dd>{set.eventDestinations.length}</dd>
        </div>
      </dl>
      <OptionsForm name={set.name} options={set.options} onSaved={reload} />
      <Destinations name={set.name} destinations={set.eventDestinations} onChanged={reload} />
      <section aria-labelledby="danger-h" className="cs-danger">
        <h2 id="danger-h">Delete</h2>
        <ConfirmButton
          label="Delete configuration set"
          question={`Delete ${set.name} and its event destinations? Sends that name it will be refused.`}
          yes={`Yes, delete ${set.name}`}
          yesClassName="cs-destructive"
          no="Keep it"
          wrapper={{ as: 'p', className: 'cs-actions' }}
          onConfirm={remove}
        />
        <Alert text={deleteError} />
      </section>
    </>
  );
}

/** The set's options; saving sends each changed group with its own SES action. */
function OptionsForm(props: { name: string; options: SetOptions; onSaved: () => Promise<void> }) {
  const o = props.options;
  const [sending, setSending] = useState(o.sending.sendingEnabled);
  const [reputation, setReputation] = useState(o.reputation.reputationMetricsEnabled);
  const [override, setOverride] = useState(o.suppression !== null);
  const [reasons, setReasons] = useState<string[]>(o.suppression?.suppressedReasons ?? ['BOUNCE', 'COMPLAINT']);
  const [tls, setTls] = useState(o.delivery.tlsPolicy);
  const [maxSeconds, setMaxSeconds] = useState(o.delivery.maxDeliverySeconds === undefined ? '' : String(o.delivery.maxDeliverySeconds));
  const [domain, setDomain] = useState(o.tracking?.customRedirectDomain ?? '');
  const [httpsPolicy, setHttpsPolicy] = useState(o.tracking?.httpsPolicy ?? '');
  const [error, setError] = useState('');
  const [saved, setSaved] = useState('');
  const [busy, setBusy] = useState(false);

  const save = async (e: FormEvent) => {
    e.preventDefault();
    setError('');
    setSaved('');
    const changes: Array<[keyof SetOptions, Record<string, unknown>]> = [];
    if (sending !== o.sending.sendingEnabled) changes.push(['sending', { sendingEnabled: sending }]);
    if (reputation !== o.reputation.reputationMetricsEnabled) changes.push(['reputation', { reputationMetricsEnabled: reputation }]);
    const wanted = override ? [...reasons].sort() : null;
    const had = o.suppression ? [...o.suppression.suppressedReasons].sort() : null;
    if (JSON.stringify(wanted) !== JSON.stringify(had)) changes.push(['suppression', { suppressedReasons: wanted }]);
    if (tls !== o.delivery.tlsPolicy || maxSeconds !== (o.delivery.maxDeliverySeconds === undefined ? '' : String(o.delivery.maxDeliverySeconds))) {
      changes.push(['delivery', { tlsPolicy: tls, maxDeliverySeconds: maxSeconds.trim() === '' ? null : Number(maxSeconds) }]);
    }
    if (domain.trim() !== (o.tracking?.customRedirectDomain ?? '') || httpsPolicy !== (o.tracking?.httpsPolicy ?? '')) {
      changes.push(['tracking', { customRedirectDomain: domain.trim(), httpsPolicy: httpsPolicy || null }]);
    }
    if (changes.length === 0) {
      setSaved('Nothing to save: the options are as stored.');
      return;
    }
    setBusy(true);
    try {
      for (const [group, body] of changes) await putOptions(props.name, group, body);
      setSaved('Options saved.');
      await props.onSaved();
    } catch (err) {
      setError((err as Error).message);
      // Groups saved before the refusal are stored: show what is.
      await props.onSaved();
    } finally {
      setBusy(false);
    }
  };

  const reason = (r: 'BOUNCE' | 'COMPLAINT', label: string) => (
    <div className="cs-check">
      <input
        id={`opt-reason-${r}`}
        type="checkbox"
        disabled={!override}
        checked={override && reasons.includes(r)}
        onChange={(e) => setReasons((prev) => (e.target.checked ? [...prev.filter((x) => x !== r), r] : prev.filter((x) => x !== r)))}
      />
      <label htmlFor={`opt-reason-${r}`}>{label}</label>
    </div>
  );

  return (
    <section aria-labelledby="options-h">
      <h2 id="options-h">Options</h2>
      <form onSubmit={(e) => void save(e)} aria-label="Configuration set options" className="cs-options">
        <div className="cs-check">
          <input id="opt-sending" type="checkbox" checked={sending} onChange={(e) => setSending(e.target.checked)} />
          <label htmlFor="opt-sending">Sending enabled (a paused set refuses sends that name it)</label>
        </div>
        <div className="cs-check">
          <input id="opt-reputation" type="checkbox" checked={reputation} onChange={(e) => setReputation(e.target.checked)} />
          <label htmlFor="opt-reputation">Reputation metrics</label>
        </div>
        <fieldset>
          <legend>Suppression list</legend>
          <div className="cs-check">
            <input id="opt-suppression-override" type="checkbox" checked={override} onChange={(e) => setOverride(e.target.checked)} />
            <label htmlFor="opt-suppression-override">Override the account's suppression settings for this set</label>
          </div>
          <p className="cs-hint">Suppress addresses on the account's list for these reasons:</p>
          {reason('BOUNCE', 'Bounces')}
          {reason('COMPLAINT', 'Complaints')}
        </fieldset>
        <fieldset>
          <legend>Delivery</legend>
          <label htmlFor="opt-tls">TLS policy</label>
          <select id="opt-tls" value={tls} onChange={(e) => setTls(e.target.value as 'REQUIRE' | 'OPTIONAL')}>
            <option value="OPTIONAL">Optional (TLS when offered)</option>
            <option value="REQUIRE">Require (TLS only)</option>
          </select>
          <label htmlFor="opt-max-seconds">Maximum delivery time in seconds (300 to 50400; empty: the default)</label>
          <input id="opt-max-seconds" inputMode="numeric" value={maxSeconds} onChange={(e) => setMaxSeconds(e.target.value)} />
        </fieldset>
        <fieldset>
          <legend>Open and click tracking</legend>
          <label htmlFor="opt-redirect-domain">Custom redirect domain (empty: none)</label>
          <input id="opt-redirect-domain" value={domain} onChange={(e) => setDomain(e.target.value)} placeholder="track.example.com" autoComplete="off" />
          <label htmlFor="opt-https-policy">HTTPS policy of tracking links</label>
          <select id="opt-https-policy" value={httpsPolicy} onChange={(e) => setHttpsPolicy(e.target.value)}>
            <option value="">Default</option>
            <option value="REQUIRE">Require HTTPS</option>
            <option value="REQUIRE_OPEN_ONLY">Require HTTPS for opens only</option>
            <option value="OPTIONAL">Optional</option>
          </select>
        </fieldset>
        <div>
          <BusyButton busy={busy} busyText="Saving…">
            Save options
          </BusyButton>
        </div>
        <Alert text={error} testId="options-error" />
        {saved && <p role="status">{saved}</p>}
      </form>
    </section>
  );
}

const KINDS = {
  sns: { label: 'SNS topic', target: 'Topic ARN', example: 'arn:aws:sns:us-east-1:123456789012:ses-events' },
  eventBridge: { label: 'EventBridge bus', target: 'Event bus ARN', example: 'arn:aws:events:us-east-1:123456789012:event-bus/default' },
  firehose: { label: 'Firehose delivery stream', target: 'Delivery stream ARN', example: 'arn:aws:firehose:us-east-1:123456789012:deliverystream/ses' },
  cloudWatch: { label: 'CloudWatch (Prometheus) counter', target: '', example: '' },
} as const;
type Kind = keyof typeof KINDS;

function kindOf(d: Destination): { kind: string; target: string } {
  if (d.sns) return { kind: KINDS.sns.label, target: d.sns.topicArn };
  if (d.eventBridge) return { kind: KINDS.eventBridge.label, target: d.eventBridge.eventBusArn };
  if (d.firehose) return { kind: KINDS.firehose.label, target: `${d.firehose.deliveryStreamArn} (role ${d.firehose.iamRoleArn})` };
  if (d.cloudWatch) return { kind: KINDS.cloudWatch.label, target: d.cloudWatch.dimensions.map((x) => `${x.name} from ${x.source.toLowerCase().replace('_', ' ')} (default ${x.defaultValue})`).join(', ') };
  return { kind: '–', target: '' };
}

/** Event type checkboxes, in SES's order. */
function TypeChecks(props: { idPrefix: string; value: EventType[]; onChange: (v: EventType[]) => void; legend: string }) {
  return (
    <fieldset className="cs-types">
      <legend>{props.legend}</legend>
      {EVENT_TYPES.map((t) => (
        <div className="cs-check" key={t}>
          <input
            id={`${props.idPrefix}-${t}`}
            type="checkbox"
            checked={props.value.includes(t)}
            onChange={(e) => props.onChange(e.target.checked ? EVENT_TYPES.filter((x) => x === t || props.value.includes(x)) : props.value.filter((x) => x !== t))}
          />
          <label htmlFor={`${props.idPrefix}-${t}`}>{TYPE_TEXT[t]}</label>
        </div>
      ))}
    </fieldset>
  );
}

/** The set's event destinations: the table with enable/disable, event types and delete, and the add form. */
function Destinations(props: { name: string; destinations: Destination[]; onChanged: () => Promise<void> }) {
  const [error, setError] = useState('');
  const [editing, setEditing] = useState<string>();
  const [editTypes, setEditTypes] = useState<EventType[]>([]);
  const { name, onChanged } = props;

  const act = (p: Promise<unknown>) => {
    setError('');
    return p.then(
      () => onChanged(),
      (err: Error) => {
        setError(err.message);
        return onChanged();
      },
    );
  };

  return (
    <section aria-labelledby="destinations-h">
      <h2 id="destinations-h">Event destinations</h2>
      {props.destinations.length === 0 ? (
        <p>No event destinations: events of sends through this set are not published.</p>
      ) : (
        <table className="cs-destinations">
          <caption className="sr-only">Event destinations</caption>
          <TableHead columns={['Name', 'Type and target', 'Event types', 'Enabled']} actions="Actions" />
          <tbody>
            {props.destinations.map((d) => {
              const k = kindOf(d);
              return (
                <tr key={d.name} data-testid="event-destination">
                  <td data-label="Name">{d.name}</td>
                  <td data-label="Type and target">
                    {k.kind}
                    <br />
                    <code className="cs-target">{k.target}</code>
                  </td>
                  <td data-label="Event types">{d.matchingEventTypes.map((t) => TYPE_TEXT[t] ?? t).join(', ')}</td>
                  <td data-label="Enabled">
                    <span className={d.enabled ? 'status status-success' : 'status'} data-testid="destination-enabled">
                      {d.enabled ? 'Enabled' : 'Disabled'}
                    </span>
                  </td>
                  <td className="cs-actions">
                    <button type="button" aria-label={`${d.enabled ? 'Disable' : 'Enable'} ${d.name}`} onClick={() => void act(updateDestination(name, d.name, { enabled: !d.enabled }))}>
                      {d.enabled ? 'Disable' : 'Enable'}
                    </button>
                    <button
                      type="button"
                      aria-label={`Edit the event types of ${d.name}`}
                      onClick={() => {
                        setEditing(d.name);
                        setEditTypes(d.matchingEventTypes);
                      }}
                    >
                      Event types
                    </button>
                    <button type="button" aria-label={`Delete ${d.name}`} onClick={() => void act(deleteDestination(name, d.name))}>
                      Delete
                    </button>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {editing && (
        <form
          aria-label={`Event types of ${editing}`}
          onSubmit={(e) => {
            e.preventDefault();
            const dest = editing;
            void act(updateDestination(name, dest, { matchingEventTypes: editTypes }).then(() => setEditing(undefined)));
          }}
        >
          <TypeChecks idPrefix="edit-type" legend={`Event types of ${editing}`} value={editTypes} onChange={setEditTypes} />
          <p className="cs-actions">
            <button type="submit">Save event types</button>
            <button type="button" onClick={() => setEditing(undefined)}>
              Cancel
            </button>
          </p>
        </form>
      )}
      <Alert text={error} testId="destination-error" />
      <AddDestination name={name} onAdded={onChanged} />
    </section>
  );
}

function AddDestination(props: { name: string; onAdded: () => Promise<void> }) {
  const [destName, setDestName] = useState('');
  const [types, setTypes] = useState<EventType[]>(['SEND', 'DELIVERY', 'BOUNCE', 'COMPLAINT']);
  const [kind, setKind] = useState<Kind>('sns');
  const [target, setTarget] = useState('');
  const [role, setRole] = useState('');
  const [dimension, setDimension] = useState('');
  const [source, setSource] = useState('MESSAGE_TAG');
  const [defaultValue, setDefaultValue] = useState('');
  const [enabled, setEnabled] = useState(true);
  const [error, setError] = useState('');

  const add = (e: FormEvent) => {
    e.preventDefault();
    setError('');
    const d: DestinationInput = { name: destName.trim(), enabled, matchingEventTypes: types };
    if (kind === 'sns') d.sns = { topicArn: target.trim() };
    else if (kind === 'eventBridge') d.eventBridge = { eventBusArn: target.trim() };
    else if (kind === 'firehose') d.firehose = { deliveryStreamArn: target.trim(), iamRoleArn: role.trim() };
    else d.cloudWatch = { dimensions: [{ name: dimension.trim(), source, defaultValue: defaultValue.trim() }] };
    createDestination(props.name, d).then(
      () => {
        setDestName('');
        setTarget('');
        return props.onAdded();
      },
      (err: Error) => setError(err.message),
    );
  };

  return (
    <form onSubmit={add} aria-label="Add an event destination" className="cs-add">
      <h3>Add an event destination</h3>
      <label htmlFor="dest-name">Destination name</label>
      <input id="dest-name" required value={destName} onChange={(e) => setDestName(e.target.value)} autoComplete="off" />
      <TypeChecks idPrefix="add-type" legend="Event types to publish" value={types} onChange={setTypes} />
      <label htmlFor="dest-kind">Destination type</label>
      <select id="dest-kind" value={kind} onChange={(e) => setKind(e.target.value as Kind)}>
        {Object.entries(KINDS).map(([k, v]) => (
          <option key={k} value={k}>
            {v.label}
          </option>
        ))}
      </select>
      {kind === 'cloudWatch' ? (
        <>
          <label htmlFor="dest-dimension">Dimension name</label>
          <input id="dest-dimension" value={dimension} onChange={(e) => setDimension(e.target.value)} placeholder="campaign" />
          <label htmlFor="dest-source">Value source</label>
          <select id="dest-source" value={source} onChange={(e) => setSource(e.target.value)}>
            <option value="MESSAGE_TAG">Message tag</option>
            <option value="EMAIL_HEADER">Email header</option>
            <option value="LINK_TAG">Link tag</option>
          </select>
          <label htmlFor="dest-default">Default value</label>
          <input id="dest-default" value={defaultValue} onChange={(e) => setDefaultValue(e.target.value)} placeholder="none" />
        </>
      ) : (
        <>
          <label htmlFor="dest-target">{KINDS[kind].target}</label>
          <input id="dest-target" value={target} onChange={(e) => setTarget(e.target.value)} placeholder={KINDS[kind].example} autoComplete="off" />
          {kind === 'firehose' && (
            <>
              <label htmlFor="dest-role">IAM role ARN</label>
              <input id="dest-role" value={role} onChange={(e) => setRole(e.target.value)} placeholder="arn:aws:iam::123456789012:role/ses-firehose" autoComplete="off" />
            </>
          )}
        </>
      )}
      <div className="cs-check">
        <input id="dest-enabled" type="checkbox" checked={enabled} onChange={(e) => setEnabled(e.target.checked)} />
        <label htmlFor="dest-enabled">Enabled</label>
      </div>
      <div>
        <button type="submit">Add event destination</button>
      </div>
      <Alert text={error} testId="add-destination-error" />
    </form>
  );
}
