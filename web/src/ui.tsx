import { useCallback, useEffect, useState, type DependencyList, type FormEvent, type ReactNode } from 'react';

/** An error paragraph that screen readers announce; nothing while the text is empty. */
export function Alert(props: { text: string; testId?: string }) {
  if (!props.text) return null;
  return (
    <p role="alert" className="error" data-testid={props.testId}>
      {props.text}
    </p>
  );
}

/** The placeholder while a page's data is on its way. */
export function Loading(props: { text?: string }) {
  return <p className="loading">{props.text ?? 'Loading…'}</p>;
}

/** A list in its three states: loading, empty (a sentence), or the items (usually a table). */
export function ItemList<T>(props: { items: T[] | undefined; empty: ReactNode; children: (items: T[]) => ReactNode }) {
  if (!props.items) return <Loading />;
  if (props.items.length === 0) return <p>{props.empty}</p>;
  return <>{props.children(props.items)}</>;
}

/** A table's head: a header cell per column, and a last one named only for screen readers (`actions`). */
export function TableHead(props: { columns: string[]; actions?: string }) {
  return (
    <thead>
      <tr>
        {props.columns.map((c) => (
          <th scope="col" key={c}>
            {c}
          </th>
        ))}
        {props.actions && (
          <th scope="col">
            <span className="sr-only">{props.actions}</span>
          </th>
        )}
      </tr>
    </thead>
  );
}

/** One page of a list, and the token of the next one (absent at the end). */
export interface Page<T> {
  items: T[];
  nextToken?: string;
}

/**
 * A list the server gives a page at a time: the first page is loaded again whenever `deps`
 * change; `loadMore` appends the next page; `reload` starts again from the first. A refusal goes
 * to `onError`.
 */
export function usePaged<T>(fetchPage: (nextToken?: string) => Promise<Page<T>>, onError: (err: Error) => void, deps: DependencyList) {
  const [items, setItems] = useState<T[]>();
  const [next, setNext] = useState<string>();
  const load = useCallback(
    (nextToken?: string) =>
      fetchPage(nextToken).then((p) => {
        setItems((prev) => (nextToken ? [...(prev ?? []), ...p.items] : p.items));
        setNext(p.nextToken);
      }, onError),
    // fetchPage is a new function each render; what it reads is in deps.
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [...deps, onError],
  );
  useEffect(() => void load(), [load]);
  return { items, next, loadMore: () => (next ? load(next) : Promise.resolve()), reload: () => load() };
}

/** The "More" button under a paged list, while there is a next page. */
export function MoreButton(props: { next?: string; onMore: () => unknown }) {
  if (!props.next) return null;
  return (
    <button type="button" onClick={() => void props.onMore()}>
      More
    </button>
  );
}

/** A submit button that says what it is doing (and takes no second click) while `busy`. */
export function BusyButton(props: { busy: boolean; busyText?: string; disabled?: boolean; children: ReactNode }) {
  return (
    <button type="submit" disabled={props.busy || props.disabled}>
      {props.busy && props.busyText ? props.busyText : props.children}
    </button>
  );
}

/** A test-send form's state: `submit` runs `send`, busy meanwhile; the MessageId it answers or its refusal. */
export function useTestSend(send: () => Promise<{ messageId: string }>) {
  const [sent, setSent] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError('');
    setSent('');
    send()
      .then((r) => setSent(r.messageId), (err: Error) => setError(err.message))
      .finally(() => setBusy(false));
  };
  return { sent, error, busy, submit };
}

/** The note after a test send, linking to the message. */
export function SentNote(props: { messageId: string }) {
  if (!props.messageId) return null;
  return (
    <p role="status">
      Sent: <a href={`#/messages/${encodeURIComponent(props.messageId)}`}>{props.messageId}</a>
    </p>
  );
}

/**
 * A button that asks once more before it acts: the question (if any), a confirming button and a
 * cancelling one stand in its place, in a `wrapper` element (or none). The question closes when the
 * confirming button is clicked, unless `onConfirm` returns a promise: then it stays until that
 * promise fails (on success the page usually goes elsewhere).
 */
export function ConfirmButton(props: {
  label: string;
  /** The first button's accessible name, where its text is not enough. */
  ariaLabel?: string;
  question?: string;
  /** The confirming button's text and class. */
  yes: ReactNode;
  yesClassName: string;
  no?: string;
  wrapper?: { as: 'span' | 'p'; className: string; groupLabel?: string };
  onConfirm: () => void | Promise<unknown>;
}) {
  const [asking, setAsking] = useState(false);
  if (!asking) {
    return (
      <button type="button" aria-label={props.ariaLabel} onClick={() => setAsking(true)}>
        {props.label}
      </button>
    );
  }
  const confirm = () => {
    const done = props.onConfirm();
    if (done) done.catch(() => setAsking(false));
    else setAsking(false);
  };
  const content = (
    <>
      {props.question && <span>{props.question}</span>}
      <button type="button" className={props.yesClassName} onClick={confirm}>
        {props.yes}
      </button>
      <button type="button" onClick={() => setAsking(false)}>
        {props.no ?? 'Cancel'}
      </button>
    </>
  );
  const w = props.wrapper;
  if (!w) return content;
  const Wrapper = w.as;
  return (
    <Wrapper className={w.className} role={w.groupLabel ? 'group' : undefined} aria-label={w.groupLabel}>
      {content}
    </Wrapper>
  );
}
