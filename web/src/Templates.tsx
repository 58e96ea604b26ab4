import { useEffect, useRef, useState, type FormEvent } from 'react';
import { ApiError, call } from './api.ts';
import { Alert, BusyButton, ConfirmButton, ItemList, Loading, MoreButton, SentNote, TableHead, usePaged, useTestSend } from './ui.tsx';

/** A template as the list shows it. */
export interface TemplateSummary {
  name: string;
  createdAt: string;
  updatedAt: string;
}

/** A template with its parts. */
export interface TemplateView extends TemplateSummary {
  subject?: string;
  text?: string;
  html?: string;
}

/** A template's parts (an absent part is not in the template). */
export interface TemplateParts {
  subject?: string;
  text?: string;
  html?: string;
}

/** The rendered parts of a template. */
export interface Rendered {
  subject: string;
  text?: string;
  html?: string;
}

const path = (name: string) => `/templates/${encodeURIComponent(name)}`;
export const listTemplates = (nextToken?: string) => call<{ items: TemplateSummary[]; nextToken?: string }>('GET', `/templates${nextToken ? `?${new URLSearchParams({ nextToken })}` : ''}`);
export const createTemplate = (name: string, parts: TemplateParts) => call<{ name: string }>('POST', '/templates', { name, ...parts });
export const getTemplate = (name: string) => call<TemplateView>('GET', path(name));
export const updateTemplate = (name: string, parts: TemplateParts) => call<void>('PUT', path(name), parts);
export const deleteTemplate = (name: string) => call<void>('DELETE', path(name));
/** Renders the given (unsaved) parts with the data; nothing is stored. */
export const renderTemplate = (name: string, content: TemplateParts, data: string) => call<Rendered>('POST', `${path(name)}/render`, { content, data });
export const sendTemplateTest = (name: string, body: { from: string; to: string; data: string }) => call<{ messageId: string }>('POST', `${path(name)}/send-test`, body);

const when = (iso: string) => iso.replace('T', ' ').replace(/\.\d+Z$/, ' UTC');

/** An empty field is an absent part (as a template without that part). */
const parts = (subject: string, html: string, text: string): TemplateParts => ({ subject: subject || undefined, html: html || undefined, text: text || undefined });

/** The account's templates, a page at a time, and a form that creates one (then opens it). */
export function Templates(props: { onError: (err: Error) => void }) {
  const [name, setName] = useState('');
  const [subject, setSubject] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const { items, next, loadMore } = usePaged(listTemplates, props.onError, []);

  const create = (e: FormEvent) => {
    e.preventDefault();
    setError('');
    setBusy(true);
    const n = name.trim();
    createTemplate(n, { subject }).then(
      () => {
        window.location.hash = `#/templates/${encodeURIComponent(n)}`;
      },
      (err: Error) => {
        setError(err.message);
        setBusy(false);
      },
    );
  };

  return (
    <>
      <h1>Templates</h1>
      <p>Email templates (Handlebars, as SES renders them) for SendEmail, SendBulkEmail and SendTemplatedEmail.</p>
      <form className="search" onSubmit={create} aria-label="Create a template">
        <div>
          <label htmlFor="tpl-name">Template name</label>
          <input id="tpl-name" required value={name} onChange={(e) => setName(e.target.value)} placeholder="welcome" />
        </div>
        <div>
          <label htmlFor="tpl-new-subject">Subject</label>
          <input id="tpl-new-subject" required value={subject} onChange={(e) => setSubject(e.target.value)} placeholder="Welcome, {{name}}" />
        </div>
        <BusyButton busy={busy} busyText="Creating…">
          Create template
        </BusyButton>
      </form>
      <Alert text={error} />
      <ItemList items={items} empty="No templates yet.">
        {(items) => (
          <table>
            <caption className="sr-only">Templates</caption>
            <TableHead columns={['Name', 'Created', 'Updated']} />
            <tbody>
              {items.map((t) => (
                <tr key={t.name} data-testid="template">
                  <td>
                    <a href={`#/templates/${encodeURIComponent(t.name)}`}>{t.name}</a>
                  </td>
                  <td>{when(t.createdAt)}</td>
                  <td>{when(t.updatedAt)}</td>
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

/** One template: edit its parts with a live preview, save, delete, send a test. */
export function TemplatePage(props: { name: string; onError: (err: Error) => void }) {
  const { name, onError } = props;
  const [saved, setSaved] = useState<TemplateView>();
  const [subject, setSubject] = useState('');
  const [html, setHtml] = useState('');
  const [text, setText] = useState('');
  const [data, setData] = useState('{}');
  const [preview, setPreview] = useState<Rendered>();
  const [previewError, setPreviewError] = useState('');
  const [status, setStatus] = useState('');
  const [error, setError] = useState('');

  useEffect(() => {
    getTemplate(name).then((t) => {
      setSaved(t);
      setSubject(t.subject ?? '');
      setHtml(t.html ?? '');
      setText(t.text ?? '');
      // Data that fills every simple {{attribute}} the template uses, as a start.
      const names = new Set<string>();
      for (const part of [t.subject, t.html, t.text]) for (const m of (part ?? '').matchAll(/\{\{\s*([A-Za-z_][\w]*)\s*\}\}/g)) names.add(m[1]!);
      setData(JSON.stringify(Object.fromEntries([...names].map((n) => [n, n === 'name' ? 'Ana' : `example ${n}`])), null, 2));
    }, onError);
  }, [name, onError]);

  // The live preview: 400 ms after the last keystroke, the editor's content is rendered (not saved).
  // Only the latest request's answer is shown.
  const seq = useRef(0);
  useEffect(() => {
    if (!saved) return;
    const mine = ++seq.current;
    const timer = setTimeout(() => {
      renderTemplate(name, parts(subject, html, text), data).then(
        (r) => {
          if (mine !== seq.current) return;
          setPreview(r);
          setPreviewError('');
        },
        (err: Error) => {
          if (mine !== seq.current) return;
          if (err instanceof ApiError && err.status === 401) onError(err);
          else setPreviewError(err.message);
        },
      );
    }, 400);
    return () => clearTimeout(timer);
  }, [saved, name, subject, html, text, data, onError]);

  if (!saved) return <Loading />;
  const dirty = (saved.subject ?? '') !== subject || (saved.html ?? '') !== html || (saved.text ?? '') !== text;

  const save = (e: FormEvent) => {
    e.preventDefault();
    setError('');
    setStatus('');
    updateTemplate(name, parts(subject, html, text))
      .then(() => getTemplate(name))
      .then(
        (t) => {
          setSaved(t);
          setStatus(`Saved at ${when(t.updatedAt)}.`);
        },
        (err: Error) => setError(err.message),
      );
  };

  /** Deletes the template and goes back to the list; a refusal closes the question and shows. */
  const remove = () => {
    setError('');
    return deleteTemplate(name).then(
      () => {
        window.location.hash = '#/templates';
      },
      (err: Error) => {
        setError(err.message);
        throw err;
      },
    );
  };

  return (
    <>
      <p>
        <a href="#/templates">Templates</a> /
      </p>
      <h1>{name}</h1>
      <p className="muted">
        Created {when(saved.createdAt)}, updated {when(saved.updatedAt)}
        {dirty ? ' — unsaved changes' : ''}
      </p>
      <div className="template-editor">
        <form onSubmit={save} aria-label="Edit the template">
          <label htmlFor="tpl-subject">Subject</label>
          <input id="tpl-subject" value={subject} onChange={(e) => setSubject(e.target.value)} />
          <label htmlFor="tpl-html">HTML part</label>
          <textarea id="tpl-html" rows={10} spellCheck={false} value={html} onChange={(e) => setHtml(e.target.value)} />
          <label htmlFor="tpl-text">Text part</label>
          <textarea id="tpl-text" rows={6} value={text} onChange={(e) => setText(e.target.value)} />
          <label htmlFor="tpl-data">Template data (JSON)</label>
          <textarea id="tpl-data" rows={5} spellCheck={false} value={data} onChange={(e) => setData(e.target.value)} />
          <div className="actions">
            <button type="submit" disabled={!dirty}>
              Save
            </button>
            <ConfirmButton label="Delete" yes={`Delete ${name} for good`} yesClassName="danger" no="Keep it" onConfirm={remove} />
          </div>
          {status && <p role="status">{status}</p>}
          <Alert text={error} />
        </form>
        <section aria-labelledby="preview-h" className="template-preview">
          <h2 id="preview-h">Preview</h2>
          {previewError ? <Alert text={previewError} testId="preview-error" /> : !preview ? <Loading text="Rendering…" /> : null}
          {preview && (
            <div className={previewError ? 'stale' : undefined}>
              <h3>Subject</h3>
              <p data-testid="preview-subject">{preview.subject}</p>
              <h3>HTML part</h3>
              {preview.html !== undefined ? (
                // No scripts, forms or same-origin access: the HTML is shown, never run.
                <>
                  <iframe title="Rendered HTML part" sandbox="" srcDoc={preview.html} data-testid="preview-html" />
                  <p className="muted">Scripts do not run and images from other sites are not loaded in the preview.</p>
                </>
              ) : (
                <p className="muted">No HTML part.</p>
              )}
              <h3>Text part</h3>
              {preview.text !== undefined ? <pre data-testid="preview-text">{preview.text}</pre> : <p className="muted">No text part.</p>}
            </div>
          )}
        </section>
      </div>
      <SendTemplateTest name={name} data={data} dirty={dirty} />
    </>
  );
}

/** Sends the stored template with the editor's data through SendEmail's pipeline. */
function SendTemplateTest(props: { name: string; data: string; dirty: boolean }) {
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const { sent, error, busy, submit } = useTestSend(() => sendTemplateTest(props.name, { from: from.trim(), to, data: props.data }));

  return (
    <section aria-labelledby="tpl-send-h">
      <h2 id="tpl-send-h">Send a test</h2>
      <p className="muted">
        Sends the saved template with the data above, as SendEmail would: From must be verified; in the sandbox, so must each recipient. A template whose data lacks an attribute is accepted and not
        delivered (a Rendering Failure event, as SES does).
      </p>
      {props.dirty && <p className="muted">You have unsaved changes: the test uses the saved version.</p>}
      <form className="search" onSubmit={submit} aria-label="Send a test">
        <div>
          <label htmlFor="tpl-from">From (a verified identity)</label>
          <input id="tpl-from" required value={from} onChange={(e) => setFrom(e.target.value)} placeholder="you@example.com" />
        </div>
        <div>
          <label htmlFor="tpl-to">To (comma-separated)</label>
          <input id="tpl-to" required value={to} onChange={(e) => setTo(e.target.value)} />
        </div>
        <BusyButton busy={busy} busyText="Sending…">
          Send test
        </BusyButton>
      </form>
      <SentNote messageId={sent} />
      <Alert text={error} />
    </section>
  );
}
