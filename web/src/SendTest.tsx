import { useState } from 'react';
import { sendTest } from './api.ts';
import { Alert, BusyButton, SentNote, useTestSend } from './ui.tsx';

/** Sends a test email through the same pipeline as SendEmail, and links to it in Messages. */
export function SendTest() {
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [subject, setSubject] = useState('Test message from the Sesame console');
  const { sent, error, busy, submit } = useTestSend(() => sendTest({ from: from.trim(), to, subject, text: 'This is a test message sent from the Sesame console.' }));

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
        <BusyButton busy={busy} busyText="Sending…">
          Send test email
        </BusyButton>
      </form>
      <SentNote messageId={sent} />
      <Alert text={error} />
    </section>
  );
}
