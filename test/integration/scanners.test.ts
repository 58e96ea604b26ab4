/**
 * The spam and virus verdict clients against the real daemons: rspamd at SESAME_TEST_RSPAMD_URL
 * (its /checkv2) and clamd at SESAME_TEST_CLAMD_URL (zINSTREAM). `scripts/ci-scanners.sh` installs
 * and starts both offline on this kind of machine. Failure paths that need no daemon (refused
 * connections, silent servers, HTTP errors) run everywhere against throwaway loopback servers.
 */
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import MailComposer from 'nodemailer/lib/mail-composer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseClamdReply, scanVirus } from '../../src/lib/clamd.ts';
import { checkSpam, parseCheckReply, verdictForAction } from '../../src/lib/rspamd.ts';

const RSPAMD = process.env.SESAME_TEST_RSPAMD_URL;
const CLAMD = process.env.SESAME_TEST_CLAMD_URL;
const HOW = 'To run them: eval "$(scripts/ci-scanners.sh)" && npx vitest run test/integration/scanners.test.ts';

if (!RSPAMD || !CLAMD) {
  const missing = [!RSPAMD && 'SESAME_TEST_RSPAMD_URL (rspamd)', !CLAMD && 'SESAME_TEST_CLAMD_URL (clamd)'].filter(Boolean).join(' and ');
  console.warn(`[sesame] ${missing} not set: the real-scanner tests of test/integration/scanners.test.ts are SKIPPED.\n[sesame] ${HOW}`);
}

// The standard test patterns: GTUBE (spamassassin.apache.org/gtube) and EICAR (eicar.org), kept
// in pieces so that this file itself is not flagged by a scanner on a developer's machine.
const GTUBE = ['XJS*C4JDBQADN1.NSBN3*2IDNEN', '*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X'].join('');
const EICAR = ['X5O!P%@AP[4\\PZX54(P^)7CC)7}$', 'EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'].join('');

/** A raw message composed by nodemailer, as an MTA would receive it. */
async function compose(extra: { text: string; to?: string; attachments?: Array<{ filename: string; content: string }> }): Promise<Buffer> {
  // No fixed Date: rspamd scores a date more than a day old (DATE_IN_PAST).
  return new MailComposer({
    from: 'Alice Example <alice@sender.example>',
    to: 'Bob Example <bob@inbound.example>, Carol Example <carol@inbound.example>',
    subject: 'Notes from Thursday',
    messageId: '<notes-thursday@sender.example>',
    ...extra,
  })
    .compile()
    .build();
}

const ENVELOPE = {
  from: 'alice@sender.example',
  rcpt: ['bob@inbound.example', 'carol@inbound.example'],
  ip: '192.0.2.10',
  helo: 'mail.sender.example',
};

/** A loopback port with nothing listening (bound, then released). */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** A TCP server that accepts connections, reads everything and never answers. */
async function silentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const s: Server = createServer((c) => {
    sockets.add(c);
    c.on('data', () => {});
    c.on('error', () => {});
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return {
    port: (s.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((r) => {
        for (const c of sockets) c.destroy();
        s.close(() => r());
      }),
  };
}

describe('in CI the scanners are present', () => {
  it.runIf(process.env.CI)('has SESAME_TEST_RSPAMD_URL and SESAME_TEST_CLAMD_URL (.ci/run starts them)', () => {
    expect(RSPAMD, `CI must run the rspamd tests. ${HOW}`).toBeTruthy();
    expect(CLAMD, `CI must run the ClamAV tests. ${HOW}`).toBeTruthy();
  });
});

describe.skipIf(!RSPAMD)('checkSpam against rspamd (needs SESAME_TEST_RSPAMD_URL)', () => {
  const url = RSPAMD!;

  it('gives FAIL for the GTUBE test message (rspamd: action reject, symbol GTUBE)', async () => {
    const raw = await compose({ text: `This is the GTUBE test message.\n\n${GTUBE}\n` });
    const v = await checkSpam(url, raw, ENVELOPE);
    expect(v).toMatchObject({ status: 'FAIL', action: 'reject' });
    expect(v.symbols).toContain('GTUBE');
    expect(v.score).toBeGreaterThanOrEqual(v.required!);
  });

  it('gives PASS for a plain message, and rspamd saw the envelope (From, both Rcpt lines, IP)', async () => {
    // Offline (scripts/ci-scanners.sh) rspamd scores this about 2/15 — no SPF/DMARC records
    // (NXDOMAIN), no PTR for 192.0.2.10 (RDNS_NONE) — far from "add header" at 6, so "no action".
    const raw = await compose({ text: 'Hi Bob and Carol,\n\nthe notes from Thursday are below. See you next week.\n\nAlice\n' });
    const v = await checkSpam(url, raw, { ...ENVELOPE, queueId: 'scanner-test-plain' });
    expect(v, JSON.stringify(v)).toMatchObject({ status: 'PASS', action: 'no action' });
    expect(v.score).toBeLessThan(v.required!);
    // These symbols only appear when rspamd parsed the envelope headers: the envelope sender
    // equals the From header, and two separate Rcpt headers gave two envelope recipients that
    // match the To header.
    expect(v.symbols).toEqual(expect.arrayContaining(['FROM_EQ_ENVFROM', 'RCPT_COUNT_TWO', 'TO_MATCH_ENVRCPT_ALL']));
  });

  it('passes a null sender and SMTPUTF8 recipients without rspamd calling the envelope broken', async () => {
    // rspamd 3.4 answers a UTF-8 Rcpt with BROKEN_HEADERS (+6, i.e. GRAY); checkSpam sends IDN
    // domains as A-labels and leaves out UTF-8 local parts, so this innocent message stays PASS.
    // Carol's IDN domain is an A-label in the To header (nodemailer) and must be one in the
    // envelope too, or rspamd adds FORGED_RECIPIENTS; Bøb is a Bcc recipient.
    const raw = await compose({ to: 'Carol Example <carol@bücher.example>', text: 'Hi Carol,\n\nthe notes from Thursday are below.\n\nAlice\n' });
    const v = await checkSpam(url, raw, {
      from: '',
      rcpt: ['carol@bücher.example', 'bøb@inbound.example'],
      ip: '::ffff:192.0.2.10',
      helo: 'mail.sender.example',
    });
    expect(v, JSON.stringify(v)).toMatchObject({ status: 'PASS', action: 'no action' });
    expect(v.symbols).not.toContain('BROKEN_HEADERS');
  });
});

describe('checkSpam when rspamd cannot answer (loopback stand-ins)', () => {
  let http: HttpServer;
  let httpUrl: string;
  beforeAll(async () => {
    http = createHttpServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end('{"error":"internal error: cannot process task"}');
      });
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    httpUrl = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => http.close(() => r())));

  it('gives PROCESSING_FAILED at once when nothing listens', async () => {
    const t0 = Date.now();
    const v = await checkSpam(`http://127.0.0.1:${await closedPort()}`, Buffer.from('Subject: x\r\n\r\nx\r\n'), { timeoutMs: 5000 });
    expect(v.status).toBe('PROCESSING_FAILED');
    expect(v.reason).toMatch(/ECONNREFUSED/);
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  it('gives PROCESSING_FAILED when rspamd does not answer within timeoutMs', async () => {
    const silent = await silentServer();
    try {
      const t0 = Date.now();
      const v = await checkSpam(`http://127.0.0.1:${silent.port}`, Buffer.from('Subject: x\r\n\r\nx\r\n'), { timeoutMs: 300 });
      expect(v).toMatchObject({ status: 'PROCESSING_FAILED', reason: expect.stringMatching(/within 300 ms/) });
      expect(Date.now() - t0).toBeLessThan(2000);
    } finally {
      await silent.close();
    }
  });

  it('gives PROCESSING_FAILED with rspamd\'s error on an HTTP error, and for a URL that is not http', async () => {
    const v = await checkSpam(httpUrl, Buffer.from('Subject: x\r\n\r\nx\r\n'));
    expect(v).toEqual({ status: 'PROCESSING_FAILED', reason: 'rspamd answered HTTP 500: internal error: cannot process task' });
    expect((await checkSpam('tcp://127.0.0.1:11333', Buffer.from('x'))).status).toBe('PROCESSING_FAILED');
  });

  it('maps every rspamd action to an SES verdict', () => {
    expect(verdictForAction('no action')).toBe('PASS');
    expect(verdictForAction('reject')).toBe('FAIL');
    for (const a of ['add header', 'rewrite subject', 'greylist', 'soft reject']) expect(verdictForAction(a)).toBe('GRAY');
    expect(parseCheckReply(200, 'not json').status).toBe('PROCESSING_FAILED');
    expect(parseCheckReply(200, '{"action":"add header","score":7.1,"required_score":15,"symbols":{"B":{},"A":{}}}')).toEqual({
      status: 'GRAY',
      action: 'add header',
      score: 7.1,
      required: 15,
      symbols: ['A', 'B'],
    });
  });
});

describe.skipIf(!CLAMD)('scanVirus against clamd (needs SESAME_TEST_CLAMD_URL)', () => {
  const url = CLAMD!;

  it('gives FAIL with the signature name for a message with an EICAR attachment', async () => {
    const raw = await compose({ text: 'The file you asked for.\n', attachments: [{ filename: 'eicar.com', content: EICAR }] });
    // The attachment is base64 in the message: clamd must decode the MIME part to find it.
    expect(raw.includes(Buffer.from(EICAR))).toBe(false);
    const v = await scanVirus(url, raw);
    expect(v.status, JSON.stringify(v)).toBe('FAIL');
    expect(v.signature).toMatch(/eicar/i);
    expect(v.signature).not.toMatch(/FOUND|\(/);
  });

  it('scans a message given as a stream of small chunks', async () => {
    const raw = await compose({ text: 'Streamed.\n', attachments: [{ filename: 'eicar.com', content: EICAR }] });
    const pieces = Array.from({ length: Math.ceil(raw.length / 100) }, (_, i) => raw.subarray(i * 100, i * 100 + 100));
    const v = await scanVirus(url, Readable.from([Buffer.alloc(0), ...pieces]));
    expect(v.status).toBe('FAIL');
    expect(v.signature).toMatch(/eicar/i);
  });

  it('gives PASS for a clean message', async () => {
    const raw = await compose({ text: 'Nothing to see here.\n', attachments: [{ filename: 'notes.txt', content: 'Agenda: 1. budget 2. hiring\n' }] });
    expect(await scanVirus(url, raw)).toEqual({ status: 'PASS' });
  });

  it('gives PROCESSING_FAILED when the stream exceeds clamd\'s StreamMaxLength', async () => {
    // Up to 1 GiB of one reused 1 MiB chunk; clamd (StreamMaxLength 41M in ci-scanners.sh, 25M by
    // Debian's default) answers "INSTREAM size limit exceeded" and closes while we still write.
    const mib = Buffer.alloc(1024 * 1024, 'a');
    async function* huge(): AsyncGenerator<Buffer> {
      for (let i = 0; i < 1024; i++) yield mib;
    }
    const v = await scanVirus(url, huge(), { timeoutMs: 20_000 });
    // clamd writes its reason and closes while data is still arriving, so the kernel answers our
    // next write with a reset; whether clamd's line was read before the reset is a race of the two
    // kernels' buffers. Either way the verdict is PROCESSING_FAILED, with one of those two reasons.
    expect(v.status).toBe('PROCESSING_FAILED');
    expect(v.reason).toMatch(/size limit exceeded|ECONNRESET|EPIPE/);
  });
});

describe('scanVirus when clamd cannot answer (loopback stand-ins)', () => {
  it('gives PROCESSING_FAILED at once when nothing listens, and for a URL that is not clamd\'s', async () => {
    const t0 = Date.now();
    const v = await scanVirus(`tcp://127.0.0.1:${await closedPort()}`, Buffer.from('Subject: x\r\n\r\nx\r\n'), { timeoutMs: 5000 });
    expect(v.status).toBe('PROCESSING_FAILED');
    expect(v.reason).toMatch(/ECONNREFUSED/);
    expect(Date.now() - t0).toBeLessThan(1000);
    expect((await scanVirus('http://127.0.0.1:3310', Buffer.from('x'))).status).toBe('PROCESSING_FAILED');
  });

  it('gives PROCESSING_FAILED when clamd does not answer within timeoutMs', async () => {
    const silent = await silentServer();
    try {
      const v = await scanVirus(`tcp://127.0.0.1:${silent.port}`, Buffer.from('Subject: x\r\n\r\nx\r\n'), { timeoutMs: 300 });
      expect(v).toMatchObject({ status: 'PROCESSING_FAILED', reason: expect.stringMatching(/within 300 ms/) });
    } finally {
      await silent.close();
    }
  });

  it('frames INSTREAM as clamd reads it, over a unix: socket too', async () => {
    // A stand-in clamd: "zINSTREAM\0", then <u32 length><data> chunks up to a zero length.
    const dir = await mkdtemp(join(tmpdir(), 'sesame-clamd-'));
    const path = join(dir, 'clamd.ctl');
    const received: Buffer[] = [];
    const server = createServer((c) => {
      let buf = Buffer.alloc(0);
      c.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        if (!buf.subarray(0, 10).equals(Buffer.from('zINSTREAM\0'))) return;
        let at = 10;
        const chunks: Buffer[] = [];
        while (at + 4 <= buf.length) {
          const n = buf.readUInt32BE(at);
          if (n === 0) {
            received.push(Buffer.concat(chunks));
            c.end('stream: OK\0');
            return;
          }
          if (at + 4 + n > buf.length) return;
          chunks.push(buf.subarray(at + 4, at + 4 + n));
          at += 4 + n;
        }
      });
    });
    await new Promise<void>((r) => server.listen(path, r));
    try {
      const body = Buffer.alloc(200_000, 'm');
      expect(await scanVirus(`unix:${path}`, body)).toEqual({ status: 'PASS' });
      expect(await scanVirus(`unix:${path}`, Readable.from([Buffer.from('ab'), Buffer.alloc(0), Buffer.from('cd')]))).toEqual({ status: 'PASS' });
      expect(received.map((b) => b.length)).toEqual([200_000, 4]);
      expect(received[1]!.toString()).toBe('abcd');
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('parses clamd\'s replies', () => {
    expect(parseClamdReply('stream: OK')).toEqual({ status: 'PASS' });
    expect(parseClamdReply('stream: Win.Test.EICAR_HDB-1 FOUND')).toEqual({ status: 'FAIL', signature: 'Win.Test.EICAR_HDB-1' });
    expect(parseClamdReply('stream: Eicar-Signature(44d88612fea8a8f36de82e1278abb02f:68) FOUND')).toEqual({
      status: 'FAIL',
      signature: 'Eicar-Signature',
    });
    expect(parseClamdReply('INSTREAM size limit exceeded. ERROR')).toEqual({
      status: 'PROCESSING_FAILED',
      reason: 'clamd: INSTREAM size limit exceeded.',
    });
    expect(parseClamdReply('hello').status).toBe('PROCESSING_FAILED');
  });
});
