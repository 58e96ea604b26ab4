/**
 * Fuzz targets (BENCHMARKS R3): property-based fuzzing with fast-check of the places where bytes
 * from the outside are first read. Each target pairs a generator biased towards the input's
 * trouble spots with a property that says what must hold for every input, not only "no crash":
 *
 * - smtp-data: DATA bytes in random chunks → the bare-CR/LF verdict and size verdict match a
 *   whole-buffer oracle, and a clean message comes back byte for byte (SMTP smuggling defence);
 * - mime-split: raw header blocks → only MimeError, and a split message re-joins and re-splits to
 *   the same fields; generated header lists come back name for name, value for value;
 * - ses-headers: X-SES-* control headers → only SES's BadRequest, tags never hold a comma;
 * - addresses: domain and address syntax → never throws, accepted values are ASCII without
 *   whitespace or control characters and within the length limits;
 * - json-body / query-form: the v2 JSON and v1 Query front doors' parsers → only SES errors;
 * - template: Handlebars templates and data → only RenderingError, never prototype access.
 *
 * The end-to-end targets (the whole server over HTTP and SMTP) are in ./server-targets.ts.
 * Every case must also finish within HANG_MS, or it counts as a hang.
 */
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { SesError } from '../../src/core/errors.ts';
import { RenderingError, TemplatesService } from '../../src/core/templates/service.ts';
import { QueryParams } from '../../src/frontends/ses-v1/query.ts';
import { parseJsonBody } from '../../src/frontends/ses-v2/validate.ts';
import { readData } from '../../src/frontends/smtp/data.ts';
import { readSesHeaders } from '../../src/frontends/smtp/ses-headers.ts';
import { checkDomain, checkEmailAddress } from '../../src/lib/domain.ts';
import { joinMessage, MimeError, splitMessage } from '../../src/lib/mime.ts';

/** One case longer than this is a hang. */
export const HANG_MS = 2_000;

/** A fuzz target: a generator and the property every generated value must satisfy (it throws when not). */
export interface FuzzTarget<T = unknown> {
  name: string;
  /** Share of a long run's cases (relative). */
  weight: number;
  arbitrary: fc.Arbitrary<T>;
  check(value: T): void | Promise<void>;
}

/** Throws unless `err` is one of the expected error classes. */
function expectOnly(err: unknown, ...classes: Array<abstract new (...a: never[]) => Error>): void {
  if (classes.some((c) => err instanceof c)) return;
  throw new Error(`unexpected ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`, { cause: err });
}

function fail(message: string): never {
  throw new Error(message);
}

const CR = 0x0d;
const LF = 0x0a;

/** Bytes with CR, LF, "." and NUL much more likely than in random noise. */
const mailBytes = (maxLength: number) =>
  fc
    .array(fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 0x20, max: 0x7e }) }, { weight: 2, arbitrary: fc.constantFrom(CR, LF, 0x2e) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) }), { maxLength })
    .map((a) => Buffer.from(a));

/** CRLF-terminated lines, sometimes with a smuggling sequence or a lone CR/LF in them. */
const mailLines = fc
  .array(
    fc.oneof(
      { weight: 5, arbitrary: fc.string({ maxLength: 40 }).map((s) => `${s.replace(/[\r\n]/g, '')}\r\n`) },
      { weight: 1, arbitrary: fc.constantFrom('\n.\n', '\r.\r', '\n.\r\n', '\r\n.\n', '.\r\n', '\r', '\n', '\r\n\r\n') },
    ),
    { maxLength: 30 },
  )
  .map((l) => Buffer.from(l.join(''), 'latin1'));

/** Splits a buffer at random points (as TCP would). */
const chunked = (bytes: fc.Arbitrary<Buffer>) =>
  bytes.chain((b) =>
    fc.uniqueArray(fc.integer({ min: 1, max: Math.max(1, b.length - 1) }), { maxLength: Math.min(8, b.length) }).map((cuts) => {
      const points = [0, ...cuts.filter((c) => c < b.length).sort((x, y) => x - y), b.length];
      const chunks: Buffer[] = [];
      for (let i = 0; i < points.length - 1; i++) if (points[i + 1]! > points[i]!) chunks.push(b.subarray(points[i], points[i + 1]));
      return { bytes: b, chunks };
    }),
  );

/** The first bare LF or bare CR of the whole message (a CR at the very end counts as bare). */
function oracleBareNewline(b: Buffer): boolean {
  for (let i = 0; i < b.length; i++) {
    if (b[i] === LF && (i === 0 || b[i - 1] !== CR)) return true;
    if (b[i] === CR && b[i + 1] !== LF) return true;
  }
  return false;
}

const smtpData: FuzzTarget<{ input: { bytes: Buffer; chunks: Buffer[] }; max: number }> = {
  name: 'smtp-data',
  weight: 3,
  arbitrary: fc.record({ input: chunked(fc.oneof(mailBytes(200), mailLines)), max: fc.integer({ min: 0, max: 400 }) }),
  async check({ input, max }) {
    const r = await readData(Readable.from(input.chunks), max);
    const bare = oracleBareNewline(input.bytes);
    if (input.bytes.length > max) {
      // Whichever refusal the reader meets first: the size limit, or a bare CR/LF before it.
      if (r.kind !== 'too-long' && !(r.kind === 'bare-newline' && bare)) fail(`${input.bytes.length} bytes over a limit of ${max} gave ${r.kind}`);
      return;
    }
    if (bare && r.kind !== 'bare-newline') fail(`a bare CR/LF was not refused (got ${r.kind})`);
    if (!bare && r.kind !== 'message') fail(`a clean message was refused (${r.kind})`);
    if (r.kind === 'message' && !(Buffer.isBuffer(r.data) && r.data.equals(input.bytes))) fail('the message came back changed');
  },
};

const headerName = fc.stringMatching(/^[!-9;-~]{1,20}$/);
const headerText = fc.string({ maxLength: 60, unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)) });

const mimeSplit: FuzzTarget<{ raw: Buffer } | { fields: Array<{ name: string; lines: string[] }>; body: string }> = {
  name: 'mime-split',
  weight: 2,
  arbitrary: fc.oneof(
    fc.record({ raw: fc.oneof(mailBytes(300), mailLines) }),
    fc.record({ fields: fc.array(fc.record({ name: headerName, lines: fc.array(headerText, { minLength: 1, maxLength: 4 }) }), { minLength: 1, maxLength: 8 }), body: fc.string({ maxLength: 50 }) }),
  ),
  check(v) {
    if ('raw' in v) {
      let split;
      try {
        split = splitMessage(v.raw);
      } catch (err) {
        expectOnly(err, MimeError);
        return;
      }
      for (const h of split.headers) if (/\r(?!\n[ \t])|(?<!\r)\n/.test(h.raw)) fail(`field ${JSON.stringify(h.raw)} holds a line break that is not folding`);
      const again = splitMessage(joinMessage(split.headers, split.body));
      if (JSON.stringify(again.headers) !== JSON.stringify(split.headers) || !again.body.equals(split.body)) fail('join then split changed the message');
      return;
    }
    // Generated fields: folded lines come back as one value, words joined by single spaces.
    const raw = v.fields.map((f) => `${f.name}: ${f.lines.map((l, i) => (i === 0 ? l : ` ${l}`)).join('\r\n')}`).join('\r\n');
    const split = splitMessage(Buffer.from(`${raw}\r\n\r\n${v.body}`, 'latin1'));
    if (split.headers.length !== v.fields.length) fail(`${v.fields.length} fields became ${split.headers.length}`);
    split.headers.forEach((h, i) => {
      const f = v.fields[i]!;
      const want = f.lines.map((l) => l.trim()).filter(Boolean).join(' ');
      if (h.name !== f.name || h.value !== want) fail(`field ${i}: ${JSON.stringify([h.name, h.value])} instead of ${JSON.stringify([f.name, want])}`);
    });
    if (split.body.toString('latin1') !== v.body) fail('the body changed');
  },
};

const sesHeaders: FuzzTarget<Buffer> = {
  name: 'ses-headers',
  weight: 1,
  arbitrary: fc
    .array(
      fc.oneof(
        fc.tuple(fc.constantFrom('X-SES-MESSAGE-TAGS', 'X-SES-CONFIGURATION-SET', 'X-SES-LIST-MANAGEMENT-OPTIONS', 'From', 'x-ses-message-tags'), fc.string({ maxLength: 60, unit: fc.constantFrom('a', 'b', '=', ',', ' ', ';', '-', '_', '\t', 'é', '=,') })),
        fc.tuple(headerName, headerText),
      ),
      { maxLength: 6 },
    )
    .map((fields) => Buffer.from(`${fields.map(([n, v]) => `${n}: ${v}`).join('\r\n')}\r\n\r\nbody\r\n`, 'utf8')),
  check(data) {
    let r;
    try {
      r = readSesHeaders(data);
    } catch (err) {
      expectOnly(err, SesError);
      if ((err as SesError).code !== 'BadRequestException') fail(`unexpected SES error ${(err as SesError).code}`);
      return;
    }
    for (const t of r.tags) if (t.name === '' || /[,=]/.test(t.name) || t.value.includes(',')) fail(`tag ${JSON.stringify(t)} was not split right`);
  },
};

const addresses: FuzzTarget<string> = {
  name: 'addresses',
  weight: 2,
  arbitrary: fc.oneof(
    fc.string({ maxLength: 80 }),
    fc.string({ maxLength: 80, unit: 'grapheme' }),
    fc.tuple(fc.string({ maxLength: 70, unit: fc.constantFrom('a', '.', '-', '+', '"', ' ', '\u0000', 'ß', '1') }), fc.domain()).map(([l, d]) => `${l}@${d}`),
    fc.emailAddress(),
    fc.domain(),
  ),
  check(input) {
    for (const [what, r, max] of [
      ['domain', checkDomain(input), 253],
      ['address', checkEmailAddress(input), 320],
    ] as const) {
      if (!r.ok) {
        if (typeof r.reason !== 'string' || r.reason === '') fail(`${what}: refusal without a reason`);
        continue;
      }
      // eslint-disable-next-line no-control-regex
      if (!/^[\x21-\x7e]+$/.test(r.value)) fail(`${what} ${JSON.stringify(r.value)} accepted with non-ASCII, whitespace or control characters`);
      if (r.value.length > max) fail(`${what} of ${r.value.length} characters accepted`);
    }
  },
};

const jsonBody: FuzzTarget<Buffer> = {
  name: 'json-body',
  weight: 1,
  arbitrary: fc.oneof(
    fc.json({ maxDepth: 4 }).map((s) => Buffer.from(s)),
    // Keys that pollute prototypes when a parser or a merge treats them as accessors (an object literal's __proto__ would set the prototype instead, so the JSON is written out).
    fc.jsonValue({ maxDepth: 3 }).map((v) => Buffer.from(`{"Content":${JSON.stringify(v)},"__proto__":{"polluted":${JSON.stringify(v)}},"constructor":{"prototype":{"polluted":1}}}`)),
    mailBytes(120),
  ),
  check(raw) {
    let body;
    try {
      body = parseJsonBody(raw);
    } catch (err) {
      expectOnly(err, SesError);
      return;
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) fail('a non-object body was accepted');
    if (Object.getPrototypeOf({}).polluted !== undefined) fail('Object.prototype was polluted');
  },
};

const queryForm: FuzzTarget<{ body: string; query: string }> = {
  name: 'query-form',
  weight: 1,
  arbitrary: fc.record({
    body: fc.oneof(
      fc.string({ maxLength: 120, unit: fc.constantFrom('a', '=', '&', '%', '2', '0', 'F', '.', 'member', 'Action', '+', '\u00ff', '%zz') }),
      fc.array(fc.tuple(fc.constantFrom('Action', 'Version', 'Destination.ToAddresses.member.1', 'Tags.member.1.Name', 'x'), fc.string({ maxLength: 20 }))).map((kv) => new URLSearchParams(kv).toString()),
    ),
    query: fc.string({ maxLength: 30 }),
  }),
  check({ body, query }) {
    let q;
    try {
      q = QueryParams.parse(Buffer.from(body), query);
    } catch (err) {
      expectOnly(err, SesError);
      return;
    }
    for (const name of ['Action', 'Version', 'Destination.ToAddresses.member.1', 'x']) {
      try {
        q.string(name);
        q.boolean(name);
      } catch (err) {
        expectOnly(err, SesError);
      }
    }
  },
};

const templates = new TemplatesService(undefined as never, undefined as never, { now: () => 0 } as never, 'us-east-1');
const token = fc.constantFrom(
  '{{name}}', '{{a.b}}', '{{#if a}}', '{{else}}', '{{/if}}', '{{#each list}}', '{{/each}}', '{{this}}', '{{@index}}', '{{{raw}}}', '{{> p}}', '{{#*inline "p"}}x{{/inline}}',
  '{{constructor}}', '{{__proto__}}', '{{constructor.constructor}}', '{{lookup this "constructor"}}', '{{#with a}}', '{{/with}}', '{{!-- c --}}', '{{', '}}', '{{#', '{{/', '\\{{x}}', '{{../a}}', '{{[a b]}}', 'text', ' ', '<b>',
);
const template: FuzzTarget<{ tmpl: string; data: string }> = {
  name: 'template',
  weight: 1,
  arbitrary: fc.record({
    tmpl: fc.oneof(fc.array(token, { maxLength: 12 }).map((t) => t.join('')), fc.string({ maxLength: 40, unit: fc.constantFrom('{', '}', '#', '/', 'a', ' ', '"', '>', '!', '.', '@', '^', '&', '~') })),
    data: fc.oneof(fc.json({ maxDepth: 3 }), fc.constant('{"name":"Ann","a":{"b":"<i>"},"list":[1,2],"raw":"<x>"}'), fc.constant('{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}}}')),
  }),
  check({ tmpl, data }) {
    try {
      const out = templates.render({ content: { subject: tmpl, text: tmpl } }, data);
      if (typeof out.subject !== 'string' || typeof out.text !== 'string') fail('rendering gave no text');
      if (/function\s*\w*\s*\(|\[native code\]/.test(out.text ?? '')) fail(`rendering exposed a function: ${out.text}`);
    } catch (err) {
      expectOnly(err, RenderingError);
    }
    if (Object.getPrototypeOf({}).polluted !== undefined) fail('Object.prototype was polluted');
  },
};

/**
 * Large folded header blocks (up to a few MB, as a 40 MB raw message may hold): splitting must stay
 * linear. A quadratic join of continuation lines once took 79 s for 14 MB; the hang limit catches it.
 */
const mimeLarge: FuzzTarget<{ lines: number; width: number; fields: number }> = {
  name: 'mime-large',
  weight: 0.001,
  arbitrary: fc.record({ lines: fc.integer({ min: 500, max: 4000 }), width: fc.integer({ min: 1, max: 990 }), fields: fc.integer({ min: 1, max: 3 }) }),
  check({ lines, width, fields }) {
    const one = `X-Big: start\r\n${Array.from({ length: lines }, () => ` ${'a'.repeat(width)}`).join('\r\n')}`;
    const split = splitMessage(Buffer.from(`${Array.from({ length: fields }, () => one).join('\r\n')}\r\n\r\nbody`));
    if (split.headers.length !== fields) fail(`${fields} fields became ${split.headers.length}`);
    for (const h of split.headers) if (h.value.length !== 5 + lines * (width + 1)) fail(`a folded value of ${h.value.length} characters`);
  },
};

/** The in-process targets. */
export const TARGETS: FuzzTarget[] = [smtpData, mimeSplit, mimeLarge, sesHeaders, addresses, jsonBody, queryForm, template] as FuzzTarget[];
