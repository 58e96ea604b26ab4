/**
 * An authoritative DNS server on loopback whose records a test sets, so code that resolves
 * names through Node's resolver (pointed at it via `SESAME_DNS_SERVERS`) can be tested offline.
 *
 * It listens on UDP and TCP on the same port: answers over UDP that exceed 512 bytes (or the
 * client's EDNS0 payload size) go out with the TC bit set, and Node's c-ares resolver then
 * retries over TCP, so large TXT answers (DKIM keys plus SPF/DMARC) resolve as they would
 * against a real server.
 */
import { isIPv4, isIPv6, Socket, type AddressInfo } from 'node:net';
import { Packet, TCPServer, UDPServer, type DnsHandler, type Resource } from 'dns2';

/** An MX record's value: a mail exchanger host name and its preference (lower is preferred). */
export type MxValue = { exchange: string; priority: number };

/** The record types a test can set. */
export type RecordType = 'A' | 'AAAA' | 'MX' | 'TXT' | 'CNAME';

/** One record's value: an address or host name (A/AAAA/CNAME), an MX, or a TXT as one string or its chunk list. */
export type RecordValue = string | string[] | MxValue;

/** How the server treats every query for a name set with {@link TestDnsServer.setFailure} (TIMEOUT = never answer). */
export type FailureMode = 'SERVFAIL' | 'TIMEOUT' | 'REFUSED';

/** One query the server received: the name (lower-cased, no trailing dot), the type's mnemonic, and the transport. */
export type DnsQuery = { name: string; type: string; transport: 'udp' | 'tcp' };

/** A value as stored: TXT values are kept as their character-string chunks. */
type StoredValue = string | MxValue | string[];

/** TTL of every record served. */
const TTL = 60;
/** Longest DNS character-string, in bytes (RFC 1035 §3.3). */
const MAX_CHUNK_BYTES = 255;
/** CNAME hops followed before answering SERVFAIL. */
const MAX_CNAME_HOPS = 8;
/** Attempts at finding a port free for both UDP and TCP. */
const BIND_ATTEMPTS = 10;
/** DNS response codes (RFC 1035 §4.1.1); dns2 has them at runtime but its typings omit them. */
const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
/** UDP payload size advertised in our EDNS0 OPT record when the client sent one. */
const EDNS_PAYLOAD = 1232;

const TYPE_NAMES = new Map<number, string>(
  Object.entries(Packet.TYPE).map(([name, code]) => [code as number, name]),
);

/** Lower-cases a name and drops trailing dots, the form records are keyed by. */
function normalize(name: string): string {
  return name.trim().toLowerCase().replace(/\.+$/, '');
}

/** Splits a TXT string into character-strings of at most 255 UTF-8 bytes without cutting a character. */
function splitTxt(value: string): string[] {
  if (Buffer.byteLength(value) <= MAX_CHUNK_BYTES) return [value];
  const chunks: string[] = [];
  let current = '';
  let currentBytes = 0;
  for (const char of value) {
    const bytes = Buffer.byteLength(char);
    if (currentBytes + bytes > MAX_CHUNK_BYTES) {
      chunks.push(current);
      current = '';
      currentBytes = 0;
    }
    current += char;
    currentBytes += bytes;
  }
  chunks.push(current);
  return chunks;
}

/** Checks one value against its record type and returns it in stored form; throws TypeError if it does not fit. */
function toStored(name: string, type: RecordType, value: RecordValue): StoredValue {
  const bad = (expected: string): TypeError =>
    new TypeError(`${type} value for ${name} must be ${expected}, got ${JSON.stringify(value)}`);
  switch (type) {
    case 'A':
      if (typeof value !== 'string' || !isIPv4(value)) throw bad('an IPv4 address');
      return value;
    case 'AAAA':
      if (typeof value !== 'string' || !isIPv6(value)) throw bad('an IPv6 address');
      return value;
    case 'CNAME':
      if (typeof value !== 'string' || normalize(value) === '') throw bad('a host name');
      return normalize(value);
    case 'MX': {
      if (typeof value !== 'object' || Array.isArray(value)) throw bad('{ exchange, priority }');
      const { exchange, priority } = value;
      if (typeof exchange !== 'string' || !Number.isInteger(priority) || priority < 0 || priority > 0xffff) {
        throw bad('{ exchange: string; priority: integer 0-65535 }');
      }
      return { exchange: normalize(exchange), priority };
    }
    case 'TXT':
      if (typeof value === 'string') return splitTxt(value);
      if (!Array.isArray(value) || value.length === 0 || !value.every((c) => typeof c === 'string')) {
        throw bad('a string or a non-empty string[]');
      }
      for (const chunk of value) {
        if (Buffer.byteLength(chunk) > MAX_CHUNK_BYTES) {
          throw new RangeError(`TXT chunk for ${name} is over ${MAX_CHUNK_BYTES} bytes`);
        }
      }
      return [...value];
    default:
      throw new TypeError(`unsupported record type ${String(type)}`);
  }
}

/** Builds the resource record serving `value` as `type` under owner name `owner`. */
function toResource(owner: string, type: RecordType, value: StoredValue): Resource {
  const base = { name: owner, type: Packet.TYPE[type], class: Packet.CLASS.IN, ttl: TTL };
  switch (type) {
    case 'A':
    case 'AAAA':
      return new Packet.Resource({ ...base, address: value as string });
    case 'CNAME':
      return new Packet.Resource({ ...base, domain: value as string });
    case 'MX': {
      const mx = value as MxValue;
      return new Packet.Resource({ ...base, exchange: mx.exchange, priority: mx.priority });
    }
    case 'TXT':
      return new Packet.Resource({ ...base, data: value as string[] });
  }
}

/** Outcome of looking a question up: an rcode with answers, or silence. */
type Lookup = { rcode: number; answers: Resource[] } | 'TIMEOUT';

/**
 * Authoritative test DNS server on 127.0.0.1 (UDP + TCP, same port) serving A, AAAA, MX, TXT and CNAME
 * records set by the test. Names are case-insensitive and a trailing dot is ignored; a name with no
 * records → NXDOMAIN, a name without the asked type → NOERROR with no answers (NODATA); a CNAME is
 * followed for other types. Every record has TTL 60 (Node's resolver does not cache, so changes show at once).
 */
export class TestDnsServer {
  /** Address the server listens on (always loopback). */
  readonly host = '127.0.0.1';
  /** Port the server listens on, for both UDP and TCP. */
  readonly port: number;
  /** Every query received, in arrival order, for assertions; clear with `queries.length = 0`. */
  readonly queries: DnsQuery[] = [];

  readonly #udp: UDPServer;
  readonly #tcp: TCPServer;
  readonly #sockets = new Set<Socket>();
  readonly #records = new Map<string, Map<RecordType, StoredValue[]>>();
  readonly #failures = new Map<string, FailureMode>();
  #closing: Promise<void> | undefined;

  private constructor(udp: UDPServer, tcp: TCPServer, port: number) {
    this.#udp = udp;
    this.#tcp = tcp;
    this.port = port;
    const handle: DnsHandler = (request, send, client) => {
      const transport = client instanceof Socket ? 'tcp' : 'udp';
      const response = this.#answer(request, transport);
      if (response) void Promise.resolve(send(response)).catch(() => undefined);
    };
    // Runtime errors (a client resetting its TCP connection, a failed UDP send) must not crash the test run.
    udp.on('request', handle).on('requestError', () => undefined).on('error', () => undefined);
    tcp.on('request', handle).on('requestError', () => undefined).on('error', () => undefined);
    tcp.on('connection', (socket: Socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
  }

  /** Starts a server on a free loopback port, bound for UDP and TCP alike. */
  static async start(): Promise<TestDnsServer> {
    let lastError: unknown;
    for (let attempt = 0; attempt < BIND_ATTEMPTS; attempt++) {
      const udp = new UDPServer({ type: 'udp4' });
      await new Promise<void>((resolve, reject) => {
        udp.once('error', reject);
        udp.bind(0, '127.0.0.1', () => {
          udp.off('error', reject);
          resolve();
        });
      });
      const { port } = udp.address();
      const tcp = new TCPServer();
      try {
        await new Promise<void>((resolve, reject) => {
          tcp.once('error', reject);
          tcp.listen(port, '127.0.0.1', () => {
            tcp.off('error', reject);
            resolve();
          });
        });
      } catch (error) {
        lastError = error;
        await new Promise<void>((resolve) => udp.close(() => resolve()));
        continue;
      }
      return new TestDnsServer(udp, tcp, port);
    }
    throw new Error(`could not bind UDP and TCP on one loopback port in ${BIND_ATTEMPTS} attempts`, {
      cause: lastError,
    });
  }

  /** The server as `host:port`, the form `SESAME_DNS_SERVERS` and `Resolver.setServers` take. */
  get address(): string {
    return `${this.host}:${this.port}`;
  }

  /** Replaces all records of `type` at `name` with `values` (an empty list removes them). */
  set(name: string, type: RecordType, values: RecordValue[]): void {
    const key = normalize(name);
    const stored = values.map((value) => toStored(key, type, value));
    if (type === 'CNAME' && stored.length > 1) throw new RangeError(`${key} can have only one CNAME`);
    const rrsets = this.#records.get(key) ?? new Map<RecordType, StoredValue[]>();
    if (stored.length === 0) rrsets.delete(type);
    else rrsets.set(type, stored);
    if (rrsets.size === 0) this.#records.delete(key);
    else this.#records.set(key, rrsets);
  }

  /** Adds one record of `type` at `name`, keeping those already there. */
  add(name: string, type: RecordType, value: RecordValue): void {
    const key = normalize(name);
    const stored = toStored(key, type, value);
    const rrsets = this.#records.get(key) ?? new Map<RecordType, StoredValue[]>();
    const existing = rrsets.get(type) ?? [];
    if (type === 'CNAME' && existing.length > 0) throw new RangeError(`${key} already has a CNAME`);
    rrsets.set(type, [...existing, stored]);
    this.#records.set(key, rrsets);
  }

  /** Removes the records of `type` at `name`, or all of its records when no type is given. */
  remove(name: string, type?: RecordType): void {
    const key = normalize(name);
    if (type === undefined) {
      this.#records.delete(key);
      return;
    }
    const rrsets = this.#records.get(key);
    rrsets?.delete(type);
    if (rrsets?.size === 0) this.#records.delete(key);
  }

  /** Makes every query for `name` fail with `mode` (TIMEOUT = never answer); `null` restores normal answers. */
  setFailure(name: string, mode: FailureMode | null): void {
    if (mode === null) this.#failures.delete(normalize(name));
    else this.#failures.set(normalize(name), mode);
  }

  /** Stops listening and drops open TCP connections; the port is free once this resolves. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      const udpClosed = new Promise<void>((resolve) => this.#udp.close(() => resolve()));
      const tcpClosed = new Promise<void>((resolve) => this.#tcp.close(() => resolve()));
      for (const socket of this.#sockets) socket.destroy();
      await Promise.all([udpClosed, tcpClosed]);
    })();
    return this.#closing;
  }

  /** Closes the server, for `await using srv = await TestDnsServer.start()`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Builds the response to `request`, or undefined when it must go unanswered. */
  #answer(request: Packet, transport: 'udp' | 'tcp'): Packet | undefined {
    const response = Packet.createResponseFromRequest(request);
    response.header.aa = 1;
    // RFC 6891 §7: answer an EDNS0 query with an OPT record (our advertised payload size in its class).
    if (request.additionals.some((rr) => rr.type === Packet.TYPE.EDNS)) {
      const opt = Packet.Resource.EDNS([]);
      opt.class = EDNS_PAYLOAD;
      response.additionals.push(opt);
    }
    const question = request.questions[0];
    if (request.header.opcode !== 0) {
      response.header.rcode = RCODE.NOTIMP;
      return response;
    }
    if (!question || request.questions.length > 1) {
      response.header.rcode = RCODE.FORMERR;
      return response;
    }
    const type = TYPE_NAMES.get(question.type) ?? `TYPE${question.type}`;
    this.queries.push({ name: normalize(question.name), type, transport });
    const result = this.#lookup(question.name, question.type);
    if (result === 'TIMEOUT') return undefined;
    response.header.rcode = result.rcode;
    response.answers = result.answers;
    return response;
  }

  /** Looks `qname`/`qtype` up, following CNAMEs, as an authoritative server would. */
  #lookup(qname: string, qtype: number): Lookup {
    const answers: Resource[] = [];
    const seen = new Set<string>();
    let owner = qname;
    let key = normalize(qname);
    for (let hop = 0; hop <= MAX_CNAME_HOPS; hop++) {
      const failure = this.#failures.get(key);
      if (failure === 'TIMEOUT') return 'TIMEOUT';
      if (failure) return { rcode: RCODE[failure], answers: [] };
      const rrsets = this.#records.get(key);
      if (!rrsets) return { rcode: RCODE.NXDOMAIN, answers };
      const cname = rrsets.get('CNAME')?.[0];
      if (cname !== undefined && qtype !== Packet.TYPE.CNAME && qtype !== Packet.TYPE.ANY) {
        answers.push(toResource(owner, 'CNAME', cname));
        seen.add(key);
        owner = cname as string;
        key = owner;
        if (seen.has(key)) break;
        continue;
      }
      for (const [type, values] of rrsets) {
        if (qtype === Packet.TYPE.ANY || qtype === Packet.TYPE[type]) {
          for (const value of values) answers.push(toResource(owner, type, value));
        }
      }
      return { rcode: RCODE.NOERROR, answers };
    }
    // A CNAME loop or an over-long chain.
    return { rcode: RCODE.SERVFAIL, answers: [] };
  }
}
