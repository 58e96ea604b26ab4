/**
 * The HTTP load generator: SES v2 SendEmail requests signed ahead of time with @smithy/signature-v4
 * (so that signing is not part of the timed window) and fired over node:http keep-alive connections,
 * `concurrency` requests at a time. It runs inside the bench process, on the same machine as the
 * server: its CPU time is measured and reported next to the server's.
 */
import { createHash, createHmac } from 'node:crypto';
import { Agent, request } from 'node:http';
import { SignatureV4 } from '@smithy/signature-v4';

type SourceData = string | ArrayBuffer | ArrayBufferView;
const bytes = (d: SourceData): string | Uint8Array =>
  typeof d === 'string' ? d : d instanceof ArrayBuffer ? new Uint8Array(d) : new Uint8Array(d.buffer, d.byteOffset, d.byteLength);

/** node:crypto behind the interface @smithy/signature-v4 wants (it ships no SHA-256 of its own). */
class Sha256 {
  private readonly h;
  constructor(secret?: SourceData) {
    this.h = secret !== undefined ? createHmac('sha256', bytes(secret)) : createHash('sha256');
  }
  update(data: SourceData): void {
    this.h.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.h.digest());
  }
}

/** One ready-to-send request. */
export interface SignedRequest {
  path: string;
  headers: Record<string, string>;
  body: Buffer;
}

/** Credentials and region of the signer. */
export interface SigningKey {
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
}

/** A text body of exactly `bytes` ASCII bytes in lines of at most 76 characters. */
export function textBody(bytes: number, seed: string): string {
  const words = `${seed} the quick brown fox jumps over the lazy dog `;
  let s = '';
  while (s.length < bytes) {
    const line = words.repeat(2).slice(0, 74);
    s += `${line}\r\n`;
  }
  return s.slice(0, bytes);
}

/** The JSON of a SES v2 SendEmail (Simple content, one recipient). */
export function sendEmailJson(from: string, to: string, subject: string, text: string): string {
  return JSON.stringify({
    FromEmailAddress: from,
    Destination: { ToAddresses: [to] },
    Content: { Simple: { Subject: { Data: subject, Charset: 'UTF-8' }, Body: { Text: { Data: text, Charset: 'UTF-8' } } } },
  });
}

/** Signs `n` SendEmail requests for `host:port` (`makeBody(i)` gives the JSON of request i). */
export async function presignSendEmail(key: SigningKey, port: number, n: number, makeBody: (i: number) => string, offset = 0): Promise<SignedRequest[]> {
  const signer = new SignatureV4({
    credentials: { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey },
    region: key.region,
    service: 'ses',
    sha256: Sha256,
  });
  const out: SignedRequest[] = [];
  const path = '/v2/email/outbound-emails';
  for (let i = 0; i < n; i++) {
    const body = Buffer.from(makeBody(offset + i));
    const signed = await signer.sign({
      method: 'POST',
      protocol: 'http:',
      hostname: '127.0.0.1',
      port,
      path,
      query: {},
      headers: { host: `127.0.0.1:${port}`, 'content-type': 'application/json', 'content-length': String(body.length) },
      body,
    });
    out.push({ path, headers: signed.headers as Record<string, string>, body });
  }
  return out;
}

/** What every load run measures, over HTTP or SMTP. */
export interface LoadFigures {
  /** Requests (or messages) that succeeded: HTTP 200, SMTP 250. */
  ok: number;
  /** The others by status or reply code, or by error code when there was no answer. */
  failures: Record<string, number>;
  /** From the first request sent to the last answer received. */
  seconds: number;
  /** Successes per second over `seconds`. */
  rate: number;
  p50ms: number;
  p99ms: number;
  /** CPU seconds the bench process (the load generator) used during the run. */
  generatorCpuSeconds: number;
  /** When the first request left and the last answer came (performance.now()). */
  startedAt: number;
  endedAt: number;
}

/** What one HTTP load run measured. */
export interface LoadResult extends LoadFigures {
  requests: number;
}

/** Sends every request, `concurrency` at a time over keep-alive connections. */
export async function fire(port: number, reqs: SignedRequest[], concurrency: number): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency, maxFreeSockets: concurrency });
  const latencies = new Float64Array(reqs.length);
  const failures: Record<string, number> = {};
  let ok = 0;
  let next = 0;
  const cpu0 = process.cpuUsage();
  const startedAt = performance.now();
  const one = (r: SignedRequest) => post(port, agent, r);
  await Promise.all(
    Array.from({ length: Math.min(concurrency, reqs.length) }, async () => {
      while (next < reqs.length) {
        const i = next++;
        const t = performance.now();
        const status = await one(reqs[i]!);
        latencies[i] = performance.now() - t;
        if (status === '200') ok++;
        else failures[status] = (failures[status] ?? 0) + 1;
      }
    }),
  );
  const endedAt = performance.now();
  agent.destroy();
  return result(reqs.length, ok, failures, latencies, startedAt, endedAt, process.cpuUsage(cpu0));
}

/** POSTs one request; resolves with the status code, or the transport error's code. */
function post(port: number, agent: Agent, r: SignedRequest): Promise<string> {
  return new Promise<string>((resolve) => {
    const q = request({ host: '127.0.0.1', port, method: 'POST', path: r.path, headers: r.headers, agent }, (res) => {
      res.on('data', () => {});
      res.on('end', () => resolve(String(res.statusCode)));
      res.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
    });
    q.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
    q.end(r.body);
  });
}

function result(requests: number, ok: number, failures: Record<string, number>, latencies: Float64Array, startedAt: number, endedAt: number, cpu: NodeJS.CpuUsage): LoadResult & { p999ms: number; maxms: number } {
  const sorted = Array.from(latencies).sort((a, b) => a - b);
  const seconds = (endedAt - startedAt) / 1000;
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] ?? NaN;
  return {
    requests,
    ok,
    failures,
    seconds,
    rate: ok / seconds,
    p50ms: at(0.5),
    p99ms: at(0.99),
    p999ms: at(0.999),
    maxms: sorted[sorted.length - 1] ?? NaN,
    generatorCpuSeconds: (cpu.user + cpu.system) / 1e6,
    startedAt,
    endedAt,
  };
}

/**
 * Open-loop load (BENCHMARKS §5): request i leaves at start + i / rate whatever the answers before
 * it, so a slow answer cannot hold back the requests behind it and hide its cost (no coordinated
 * omission). Latency is measured from each request's scheduled start. Also reported: `lateP99ms` and
 * `lateMaxms`, how far behind its schedule the generator itself sent (its own event loop or CPU;
 * counted in the latencies too), and `maxInFlight`, the most requests waiting for an answer at once.
 */
export async function fireAtRate(port: number, reqs: SignedRequest[], ratePerSecond: number): Promise<LoadResult & { p999ms: number; maxms: number; lateP99ms: number; lateMaxms: number; maxInFlight: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: 512, maxFreeSockets: 512 });
  const latencies = new Float64Array(reqs.length);
  const late = new Float64Array(reqs.length);
  const failures: Record<string, number> = {};
  let ok = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  const cpu0 = process.cpuUsage();
  const startedAt = performance.now();
  const pending: Array<Promise<void>> = [];
  for (let i = 0; i < reqs.length; i++) {
    const due = startedAt + (i * 1000) / ratePerSecond;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    late[i] = Math.max(0, performance.now() - due);
    maxInFlight = Math.max(maxInFlight, ++inFlight);
    pending.push(
      post(port, agent, reqs[i]!).then((status) => {
        inFlight--;
        latencies[i] = performance.now() - due;
        if (status === '200') ok++;
        else failures[status] = (failures[status] ?? 0) + 1;
      }),
    );
  }
  await Promise.all(pending);
  const endedAt = performance.now();
  agent.destroy();
  late.sort();
  return { ...result(reqs.length, ok, failures, latencies, startedAt, endedAt, process.cpuUsage(cpu0)), lateP99ms: late[Math.min(late.length - 1, Math.floor(late.length * 0.99))] ?? 0, lateMaxms: late[late.length - 1] ?? 0, maxInFlight };
}
