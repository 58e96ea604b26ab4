import { useState, type FormEvent } from 'react';
import { sendTest } from './api.ts';

/** Sends a test email through the same pipeline as SendEmail, and links to it in Messages. */
export function SendTest() {
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [subject, setSubject] = useState('Test message from the Sesame console');
  const [sent, setSent] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError('');
    setSent('');
    sendTest({ from: from.trim(), to, subject, text: 'This is a test message sent from the Sesame console.' })
      .then((r) => setSent(r.messageId), (err: Error) => setError(err.message))
      .finally(() => setBusy(false));
  };

  return (
    <section aria-labelledby="send-h">
      <h2 id="send-h">Send a test email</h2>
      <form className="search" onSubmit={submit}>
        <div>
          <label htmlFor="t-from">From (a verified identity)</label>
          <input id="t-from" required value={from} onChange={(e) => setFrom(e.target.value)} placeholder="you@example.com" />
        </div>
        <div>
          <label htmlFor="t-to">To (comma-separated)</label>
          <input id="t-to" required value={to} onChange={(e) => setTo(e.target.value)} />
        </div>
        <div>
          <label htmlFor="t-subject">Subject</label>
          <input id="t-subject" value={subject} onChange={(e) => setSubject(e.target.value)} />
        </div>
        <button type="submit" disabled={busy}>
          {busy ? 'Sending…' : 'Send test email'}
        </button>
      </form>
      {sent && (
        <p role="status">
          Sent: <a href={`#/messages/${encodeURIComponent(sent)}`}>{sent}</a>
        </p>
      )}
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
    </section>
  );
}
