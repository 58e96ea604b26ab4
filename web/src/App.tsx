import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { account, ApiError, currentSession, signIn, signInAsUser, signOut, type AccountView, type SessionView } from './api.ts';
import { Identities, IdentityPage } from './Identities.tsx';
import { MessagePage, Messages } from './Messages.tsx';
import { Suppression } from './Suppression.tsx';
import { Queue, QueueDepth } from './Queue.tsx';
import { AccessKeys } from './AccessKeys.tsx';
import { SendTest } from './SendTest.tsx';
import { ActivityChart } from './ActivityChart.tsx';
import { Receiving, RuleSetPage } from './Receiving.tsx';
import { Reputation } from './Reputation.tsx';
import { ConfigurationSetPage, ConfigurationSets } from './ConfigurationSets.tsx';
import { TemplatePage, Templates } from './Templates.tsx';
import { Alert, BusyButton, Loading } from './ui.tsx';

/** The page the location's hash names: `#/`, `#/identities`, `#/identities/<name>`. */
function useRoute(): string[] {
  const parse = () => window.location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  const [route, setRoute] = useState(parse);
  useEffect(() => {
    const on = () => setRoute(parse());
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return route;
}

const PAGES = [
  { path: '', title: 'Overview' },
  { path: 'identities', title: 'Identities' },
  { path: 'messages', title: 'Messages' },
  { path: 'queue', title: 'Queue' },
  { path: 'suppression', title: 'Suppression' },
  { path: 'keys', title: 'Access keys' },
  { path: 'receiving', title: 'Receiving' },
  { path: 'configuration-sets', title: 'Configuration sets' },
  { path: 'templates', title: 'Templates' },
];

/** The console: the sign-in form until there is a session, then the pages. */
export function App() {
  const [session, setSession] = useState<SessionView | undefined | null>(null);
  const [failure, setFailure] = useState('');
  const route = useRoute();

  useEffect(() => {
    currentSession().then(setSession, (err: Error) => {
      setSession(undefined);
      setFailure(err.message);
    });
  }, []);

  // A page whose call finds the session gone (expired, key revoked) goes back to the sign-in form.
  const onError = useCallback((err: Error) => {
    if (err instanceof ApiError && err.status === 401) setSession(undefined);
    else setFailure(err.message);
  }, []);

  if (session === null) return <Loading />;
  if (!session) return <SignIn onSignedIn={(s) => (setFailure(''), setSession(s))} failure={failure} />;
  const page = route[0] ?? '';
  return (
    <div className="shell">
      <header>
        <span className="brand">Sesame</span>
        <nav aria-label="Console pages">
          {PAGES.map((p) => (
            <a key={p.path} href={`#/${p.path}`} aria-current={page === p.path ? 'page' : undefined}>
              {p.title}
            </a>
          ))}
        </nav>
        <span className="who" title={`Account ${session.accountId}, access key ${session.accessKeyId}`} data-testid="signed-in-as">
          {session.userName ?? session.accessKeyId}
        </span>
        <button
          type="button"
          onClick={() => {
            signOut().finally(() => setSession(undefined));
          }}
        >
          Sign out
        </button>
      </header>
      <main>
        <Alert text={failure} />
        {page === 'templates' && route[1] ? (
          <TemplatePage key={route[1]} name={route[1]} onError={onError} />
        ) : page === 'templates' ? (
          <Templates onError={onError} />
        ) : page === 'configuration-sets' && route[1] ? (
          <ConfigurationSetPage key={route[1]} name={route[1]} onError={onError} />
        ) : page === 'configuration-sets' ? (
          <ConfigurationSets onError={onError} />
        ) : page === 'receiving' && route[1] ? (
          <RuleSetPage key={route[1]} name={route[1]} onError={onError} />
        ) : page === 'receiving' ? (
          <Receiving onError={onError} />
        ) : page === 'keys' ? (
          <AccessKeys onError={onError} />
        ) : page === 'queue' ? (
          <Queue onError={onError} />
        ) : page === 'suppression' ? (
          <Suppression onError={onError} />
        ) : page === 'messages' && route[1] ? (
          <MessagePage key={route[1]} id={route[1]} onError={onError} />
        ) : page === 'messages' ? (
          <Messages onError={onError} />
        ) : page === 'identities' && route[1] ? (
          <IdentityPage key={route[1]} name={route[1]} onError={onError} />
        ) : page === 'identities' ? (
          <Identities onError={onError} />
        ) : (
          <Overview onError={onError} />
        )}
      </main>
    </div>
  );
}

/** The sign-in form: an access key pair, or a console user's name and password (a radio group picks which). */
function SignIn(props: { onSignedIn: (s: SessionView) => void; failure: string }) {
  const [mode, setMode] = useState<'key' | 'user'>('key');
  const [keyId, setKeyId] = useState('');
  const [secret, setSecret] = useState('');
  const [userName, setUserName] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState(props.failure);
  const [busy, setBusy] = useState(false);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError('');
    (mode === 'key' ? signIn(keyId.trim(), secret) : signInAsUser(userName.trim(), password))
      .then(props.onSignedIn, (err: Error) => setError(err.message))
      .finally(() => setBusy(false));
  };

  return (
    <main className="sign-in">
      <h1>Sign in to Sesame</h1>
      <form onSubmit={submit}>
        <fieldset className="sign-in-mode">
          <legend>Sign in with</legend>
          <span>
            <input type="radio" id="mode-key" name="mode" value="key" checked={mode === 'key'} onChange={() => (setMode('key'), setError(''))} />
            <label htmlFor="mode-key">Access key</label>
          </span>
          <span>
            <input type="radio" id="mode-user" name="mode" value="user" checked={mode === 'user'} onChange={() => (setMode('user'), setError(''))} />
            <label htmlFor="mode-user">User name and password</label>
          </span>
        </fieldset>
        {mode === 'key' ? (
          <>
            <p>Use an access key pair: the console acts with that key's policy.</p>
            <label htmlFor="key-id">Access key ID</label>
            <input id="key-id" name="accessKeyId" autoComplete="username" required value={keyId} onChange={(e) => setKeyId(e.target.value)} />
            <label htmlFor="secret">Secret access key</label>
            <input id="secret" name="secretAccessKey" type="password" autoComplete="current-password" required value={secret} onChange={(e) => setSecret(e.target.value)} />
          </>
        ) : (
          <>
            <p>Use the console user name and password your operator gave you: the console acts with the policy of the access key your user belongs to.</p>
            <label htmlFor="user-name">User name</label>
            <input id="user-name" name="userName" autoComplete="username" autoCapitalize="none" spellCheck={false} required value={userName} onChange={(e) => setUserName(e.target.value)} />
            <label htmlFor="password">Password</label>
            <input id="password" name="password" type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
          </>
        )}
        <BusyButton busy={busy} busyText="Signing in…">
          Sign in
        </BusyButton>
        <Alert text={error} />
      </form>
    </main>
  );
}

function Overview(props: { onError: (err: Error) => void }) {
  const [a, setA] = useState<AccountView>();
  const { onError } = props;

  useEffect(() => {
    account().then(setA, onError);
  }, [onError]);

  if (!a) return <Loading />;
  const unlimited = a.quota.max24HourSend < 0;
  const used = unlimited || a.quota.max24HourSend === 0 ? 0 : a.sentLast24Hours / a.quota.max24HourSend;
  return (
    <>
      <h1>Overview</h1>
      <section aria-labelledby="quota-h" className="cards">
        <h2 id="quota-h">Sending quota</h2>
        <dl>
          <div>
            <dt>Sent in the last 24 hours</dt>
            <dd data-testid="sent-24h">{a.sentLast24Hours.toLocaleString('en-US')}</dd>
          </div>
          <div>
            <dt>Daily quota</dt>
            <dd data-testid="max-24h">{unlimited ? 'unlimited' : a.quota.max24HourSend.toLocaleString('en-US')}</dd>
          </div>
          <div>
            <dt>Maximum send rate</dt>
            <dd>{a.quota.maxSendRate < 0 ? 'unlimited' : `${a.quota.maxSendRate.toLocaleString('en-US')} per second`}</dd>
          </div>
          <div>
            <dt>Production access</dt>
            <dd>{a.productionAccessEnabled ? 'yes' : 'no (sandbox: only verified recipients)'}</dd>
          </div>
          <div>
            <dt>Sending</dt>
            <dd>{a.sendingEnabled === false ? 'paused' : 'enabled'}</dd>
          </div>
        </dl>
        {!unlimited && (
          <meter min={0} max={1} value={used} aria-label="Share of the daily quota used">
            {Math.round(used * 100)} %
          </meter>
        )}
      </section>
      <Reputation onError={props.onError} />
      <QueueDepth />
      <ActivityChart onError={props.onError} />
      <SendTest />
    </>
  );
}
