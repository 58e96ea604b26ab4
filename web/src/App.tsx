import { useEffect, useState, type FormEvent } from 'react';
import { account, ApiError, currentSession, signIn, signOut, type AccountView, type SessionView } from './api.ts';

/** The console: the sign-in form until there is a session, then the pages. */
export function App() {
  const [session, setSession] = useState<SessionView | undefined | null>(null);
  const [failure, setFailure] = useState('');

  useEffect(() => {
    currentSession().then(setSession, (err: Error) => {
      setSession(undefined);
      setFailure(err.message);
    });
  }, []);

  if (session === null) return <p className="loading">Loading…</p>;
  if (!session) return <SignIn onSignedIn={setSession} failure={failure} />;
  return (
    <div className="shell">
      <header>
        <span className="brand">Sesame</span>
        <nav aria-label="Console pages">
          <a href="/console/" aria-current="page">
            Overview
          </a>
        </nav>
        <span className="who" title={`Account ${session.accountId}`}>
          {session.accessKeyId}
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
        <Overview onSessionEnded={() => setSession(undefined)} />
      </main>
    </div>
  );
}

function SignIn(props: { onSignedIn: (s: SessionView) => void; failure: string }) {
  const [keyId, setKeyId] = useState('');
  const [secret, setSecret] = useState('');
  const [error, setError] = useState(props.failure);
  const [busy, setBusy] = useState(false);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError('');
    signIn(keyId.trim(), secret)
      .then(props.onSignedIn, (err: Error) => setError(err.message))
      .finally(() => setBusy(false));
  };

  return (
    <main className="sign-in">
      <h1>Sign in to Sesame</h1>
      <p>Use an access key pair: the console acts with that key's policy.</p>
      <form onSubmit={submit}>
        <label htmlFor="key-id">Access key ID</label>
        <input id="key-id" name="accessKeyId" autoComplete="username" required value={keyId} onChange={(e) => setKeyId(e.target.value)} />
        <label htmlFor="secret">Secret access key</label>
        <input id="secret" name="secretAccessKey" type="password" autoComplete="current-password" required value={secret} onChange={(e) => setSecret(e.target.value)} />
        <button type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        {error && (
          <p role="alert" className="error">
            {error}
          </p>
        )}
      </form>
    </main>
  );
}

function Overview(props: { onSessionEnded: () => void }) {
  const [a, setA] = useState<AccountView>();
  const [error, setError] = useState('');
  const { onSessionEnded } = props;

  useEffect(() => {
    account().then(setA, (err: Error) => {
      if (err instanceof ApiError && err.status === 401) onSessionEnded();
      else setError(err.message);
    });
  }, [onSessionEnded]);

  if (error)
    return (
      <p role="alert" className="error">
        {error}
      </p>
    );
  if (!a) return <p className="loading">Loading…</p>;
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
    </>
  );
}
