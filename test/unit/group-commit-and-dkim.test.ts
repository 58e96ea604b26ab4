/** Group commit (enqueues and delivery completions) and DKIM signing on worker threads. */
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { GroupCommit } from '../../src/core/queue/batcher.ts';
import { createDkimSigner, type DkimSignatureSpec } from '../../src/lib/dkim-sign.ts';

describe('GroupCommit', () => {
  it('commits the items of callers that arrive together in one transaction, keeping each caller whole', async () => {
    const commits: number[][] = [];
    const g = new GroupCommit<number>(async (items) => void commits.push(items), 5);
    await Promise.all([g.submit([1, 2]), g.submit([3]), g.submit([4, 5, 6]), g.submit([7])]);
    // 1,2,3 fit in 5; 4,5,6 would make 6, so it starts the next batch with 7.
    expect(commits).toEqual([
      [1, 2, 3],
      [4, 5, 6, 7],
    ]);
    expect(g.stats).toEqual({ batches: 2, items: 7 });
  });

  it('fails only the caller whose items cannot be committed; the others in its batch are committed', async () => {
    const stored: number[] = [];
    const g = new GroupCommit<number>(async (items) => {
      if (items.includes(13)) throw new Error('bad item');
      stored.push(...items);
    });
    const results = await Promise.allSettled([g.submit([1]), g.submit([13, 14]), g.submit([2])]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(stored.sort()).toEqual([1, 2]);
  });

  it('with a linger, callers that arrive apart within it share one transaction; without one, they do not', async () => {
    const run = async (lingerMs: number) => {
      const commits: number[][] = [];
      const g = new GroupCommit<number>(async (items) => void commits.push(items), 500, 2, lingerMs);
      const first = g.submit([1]);
      await new Promise((r) => setTimeout(r, 20));
      await Promise.all([first, g.submit([2])]);
      return commits;
    };
    expect(await run(1_000)).toEqual([[1, 2]]);
    expect(await run(0)).toEqual([[1], [2]]);
  });

  it('does not resolve before the commit has finished', async () => {
    let release!: () => void;
    const g = new GroupCommit<number>(() => new Promise<void>((r) => (release = r)));
    let done = false;
    const p = g.submit([1]).then(() => (done = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(done).toBe(false);
    release();
    await p;
    expect(done).toBe(true);
  });

  it('with depth 2, writes the next batch while the one before is still committing, and never runs a third', async () => {
    const releases: Array<() => void> = [];
    const commits: number[][] = [];
    let inFlight = 0;
    let most = 0;
    const g = new GroupCommit<number>(
      (items) => {
        commits.push(items);
        most = Math.max(most, ++inFlight);
        return new Promise<void>((r) => releases.push(() => (inFlight--, r())));
      },
      500,
      2,
    );
    const settled: number[] = [];
    const first = g.submit([1]).then(() => settled.push(1));
    await new Promise((r) => setTimeout(r, 10));
    const second = g.submit([2]).then(() => settled.push(2));
    await new Promise((r) => setTimeout(r, 10));
    // The first commit is still running; the second batch is already being written.
    expect(commits).toEqual([[1], [2]]);
    const third = g.submit([3]).then(() => settled.push(3));
    const fourth = g.submit([4]).then(() => settled.push(4));
    await new Promise((r) => setTimeout(r, 10));
    // Two in flight: 3 and 4 wait, together, for one of them to finish.
    expect(commits).toEqual([[1], [2]]);
    releases[1]!();
    await second;
    await new Promise((r) => setTimeout(r, 10));
    expect(commits).toEqual([[1], [2], [3, 4]]);
    expect(settled).toEqual([2]);
    releases[0]!();
    releases[2]!();
    await Promise.all([first, third, fourth]);
    expect(settled.sort()).toEqual([1, 2, 3, 4]);
    expect(most).toBe(2);
    await g.flush();
    expect(g.stats).toEqual({ batches: 3, items: 4 });
  });

  it('with depth 1, starts a batch only after the one before has committed', async () => {
    const releases: Array<() => void> = [];
    const commits: number[][] = [];
    const g = new GroupCommit<number>((items) => (commits.push(items), new Promise<void>((r) => releases.push(r))), 500, 1);
    const first = g.submit([1]);
    await new Promise((r) => setTimeout(r, 10));
    const second = g.submit([2]);
    await new Promise((r) => setTimeout(r, 10));
    expect(commits).toEqual([[1]]);
    releases[0]!();
    await first;
    await new Promise((r) => setTimeout(r, 10));
    expect(commits).toEqual([[1], [2]]);
    releases[1]!();
    await second;
  });
});

describe('DKIM signer', () => {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const spec: DkimSignatureSpec = {
    signingDomain: 'example.test',
    selector: 's1',
    privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    algorithm: 'rsa-sha256',
    canonicalization: 'relaxed/relaxed',
  };
  const message = Buffer.from('From: a@example.test\r\nTo: b@example.org\r\nSubject: hi\r\n\r\nHello\r\n');
  const at = new Date('2026-12-01T00:00:00Z');

  it('makes on its threads the same signature as in the calling thread', async () => {
    const here = createDkimSigner(0);
    const threaded = createDkimSigner(2);
    try {
      const a = await here.sign(message, [spec], at);
      const results = await Promise.all(Array.from({ length: 8 }, () => threaded.sign(message, [spec], at)));
      expect(a.errors).toEqual([]);
      expect(a.signatures).toMatch(/^DKIM-Signature: v=1; a=rsa-sha256; c=relaxed\/relaxed; d=example.test;/);
      for (const b of results) expect({ ...b, message: b.message.toString() }).toEqual({ ...a, message: a.message.toString() });
    } finally {
      await threaded.close();
    }
  });

  it('signs every shape of message on its thread as mailauth signs it in the calling thread, whatever the canonicalizations and keys', async () => {
    const ed = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const specSets: DkimSignatureSpec[][] = [
      [spec],
      [{ ...spec, canonicalization: 'simple/simple' }],
      // Two signatures with different body canonicalizations: two body hashes of one message.
      [
        { ...spec, canonicalization: 'relaxed/simple' },
        { ...spec, signingDomain: 'other.test', selector: 'ed', privateKey: ed, algorithm: 'ed25519-sha256', canonicalization: 'simple/relaxed' },
      ],
    ];
    const crlf = (lines: string[]) => Buffer.from(lines.join('\r\n'));
    const messages: Array<[string, Buffer]> = [
      ['folded headers, a repeated header, tabs and trailing spaces', crlf(['From:  "A"\t<a@example.test> ', 'To: b@example.org,', '\tc@example.org', 'Subject: one', '  two\t', 'Received: x', 'Received: y', 'Date: Tue, 1 Dec 2026 00:00:00 +0000', '', 'line one  ', ' line\t two', '', '', ''])],
      ['an empty body', crlf(['From: a@example.test', 'Subject: empty', '', ''])],
      ['bare LFs, which mailauth reads as CRLFs', Buffer.from('From: a@example.test\nSubject: lf\n\nbody\nmore\r\nmixed\n')],
      ['a composed text body: CRLF in the header, bare LFs and blank lines in the body', Buffer.from('From: a@example.test\r\nSubject: text\r\n\r\npara one\n\npara two\n\n\n')],
      ['LFs after a CRLF (mailauth keeps them), one ending the header', Buffer.from('From: a@example.test\r\nSubject: quirk\r\n\nbody\r\n\n\nend\r\n')],
      ['a LF first, and CR LF CR LF later in the body', Buffer.from('\nFrom: a@example.test\n\nx\r\n\r\ny\n')],
      ['a lone CR and CR CR LF', Buffer.from('From: a@example.test\rX: y\r\n\r\nbody\r\r\nmore\r')],
      ['a body with no final line break', crlf(['From: a@example.test', 'Subject: tail', '', 'no newline at the end'])],
      ['an empty line in the body right after the separator', crlf(['From: a@example.test', 'Subject: gap', '', '', 'after a gap', ''])],
      ['8-bit header and body bytes', Buffer.concat([Buffer.from('From: a@example.test\r\nSubject: caf'), Buffer.from([0xc3, 0xa9]), Buffer.from('\r\n\r\n'), Buffer.from([0xff, 0x00, 0x80]), Buffer.from('\r\n')])],
    ];
    // A header without the empty line that ends it: mailauth 4.13 makes no signature (and reports
    // no error); the thread does exactly the same.
    const headerOnly = crlf(['From: a@example.test', 'Subject: no body']);
    const here = createDkimSigner(0);
    const threaded = createDkimSigner(1);
    try {
      expect(await threaded.sign(Buffer.from(headerOnly), [spec], at)).toEqual(await here.sign(Buffer.from(headerOnly), [spec], at));
      for (const specs of specSets) {
        for (const [what, m] of messages) {
          const a = await here.sign(Buffer.from(m), specs, at);
          const b = await threaded.sign(Buffer.from(m), specs, at);
          expect(a.errors, what).toEqual([]);
          expect(a.signatures.match(/^DKIM-Signature:/gm)?.length, what).toBe(specs.length);
          expect(b.signatures, `${what}, ${specs.map((s) => s.canonicalization).join(' + ')}`).toBe(a.signatures);
          expect(b.errors, what).toEqual([]);
        }
      }
    } finally {
      await threaded.close();
    }
  });

  it('moves a large message to its thread and back: same bytes, same signature, no copy kept behind', async () => {
    const here = createDkimSigner(0);
    const threaded = createDkimSigner(1);
    try {
      const big = Buffer.concat([message, Buffer.from('x'.repeat(70).concat('\r\n').repeat(2_000))]);
      const original = Buffer.from(big); // a copy to compare with
      const a = await here.sign(Buffer.from(original), [spec], at);
      const b = await threaded.sign(big, [spec], at);
      expect(big.byteLength).toBe(0); // moved, not copied
      expect(b.message.equals(original)).toBe(true);
      expect(b.signatures).toBe(a.signatures);
      // A small message is copied: the caller's Buffer stays as it was.
      const small = Buffer.from(message);
      const c = await threaded.sign(small, [spec], at);
      expect(small.equals(message)).toBe(true);
      expect(c.message).toBe(small);
    } finally {
      await threaded.close();
    }
  });

  it('composes a message on its thread and signs exactly what it returns; attachments keep their bytes', async () => {
    const here = createDkimSigner(0);
    const threaded = createDkimSigner(1);
    try {
      const attachment = Buffer.from([0, 1, 2, 250, 251, 252, 253, 254, 255]);
      const options = {
        from: 'a@example.test',
        to: ['b@example.org'],
        subject: 'composed',
        text: 'Hello from the signing thread\n',
        messageId: '<m1@example.test>',
        date: at,
        attachments: [{ content: attachment, filename: 'bytes.bin', contentType: 'application/octet-stream' }],
      };
      const r = await threaded.composeAndSign(options, [spec], at);
      expect(r.errors).toEqual([]);
      expect(r.signatures).toMatch(/^DKIM-Signature: v=1; a=rsa-sha256; c=relaxed\/relaxed; d=example.test;/);
      const text = r.message.toString();
      expect(text).toMatch(/^Content-Type: multipart\/mixed;/m);
      expect(text).toContain('Subject: composed\r\n');
      expect(text).toContain('Message-ID: <m1@example.test>\r\n');
      expect(text).toContain('Hello from the signing thread');
      expect(text).toContain(attachment.toString('base64'));
      // The signature is the one the calling thread makes over the returned bytes.
      expect((await here.sign(r.message, [spec], at)).signatures).toBe(r.signatures);
      // Without a key the message comes back unsigned.
      const unsigned = await threaded.composeAndSign(options, [], at);
      expect(unsigned.signatures).toBe('');
      expect(unsigned.message.toString()).toContain('Subject: composed\r\n');
    } finally {
      await threaded.close();
    }
  });

  it('reports a key it cannot use instead of signing', async () => {
    const threaded = createDkimSigner(1);
    try {
      const r = await threaded.sign(message, [{ ...spec, privateKey: '-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n' }], at);
      expect(r.signatures).not.toMatch(/DKIM-Signature/);
      expect(r.errors.length).toBe(1);
      expect(r.errors[0]).toContain('example.test/s1');
    } finally {
      await threaded.close();
    }
  });

  it('refuses to sign once closed', async () => {
    const threaded = createDkimSigner(1);
    await threaded.close();
    await expect(threaded.sign(message, [spec], at)).rejects.toThrow(/closed/);
  });
});
