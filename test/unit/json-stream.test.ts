/**
 * The streaming JSON string extractor (src/lib/json-stream.ts): whatever the chunking, the remainder
 * parses to the document with the watched string replaced by the placeholder, the sink receives
 * that string's characters exactly as JSON.parse gives them, and a document is refused exactly
 * when JSON.parse refuses it.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { JsonStringExtractor } from '../../src/lib/json-stream.ts';

const PATH = ['Content', 'Raw', 'Data'];
const PLACEHOLDER_JSON = '\\u0000streamed';
const PLACEHOLDER = '\u0000streamed';

interface Run {
  /** The remainder parsed, with the last streamed string put back in place of the placeholder; or 'error'. */
  value: unknown;
  /** Every streamed string, in order. */
  strings: string[];
  opens: number;
  closes: number;
}

function run(doc: Buffer, cuts: number[]): Run {
  const strings: string[] = [];
  let opens = 0;
  let closes = 0;
  const x = new JsonStringExtractor(PATH, { open: () => (opens++, strings.push('')), text: (s) => { expect(s.length).toBeGreaterThan(0); strings[strings.length - 1] += s; }, close: () => closes++ }, PLACEHOLDER_JSON);
  let at = 0;
  for (const c of [...cuts, doc.length]) {
    x.write(doc.subarray(at, c));
    at = c;
  }
  const { rest, invalid, bytes } = x.end();
  expect(bytes).toBe(doc.length);
  let value: unknown;
  if (invalid) value = 'error';
  else {
    try {
      value = JSON.parse(rest.toString('utf8'));
    } catch {
      value = 'error';
    }
  }
  // Put the streamed string back where the placeholder is (only ever at the path).
  const raw = (value as { Content?: { Raw?: { Data?: unknown } } } | null)?.Content?.Raw;
  if (raw && typeof raw === 'object' && raw.Data === PLACEHOLDER) raw.Data = strings[strings.length - 1];
  return { value, strings, opens, closes };
}

function expected(doc: Buffer): unknown {
  try {
    return JSON.parse(doc.toString('utf8'));
  } catch {
    return 'error';
  }
}

/** Every way of cutting the document in two, and in pieces of one byte. */
function everyCut(doc: Buffer): number[][] {
  const cuts: number[][] = [[], Array.from({ length: Math.max(0, doc.length - 1) }, (_, k) => k + 1)];
  for (let k = 0; k <= doc.length; k++) cuts.push([k]);
  return cuts;
}

const DOCS: Array<[string, string | Buffer]> = [
  ['plain', '{"Content":{"Raw":{"Data":"SGVsbG8="}}}'],
  ['members before and after', '{"FromEmailAddress":"a@b.test","Destination":{"ToAddresses":["x@y.test","z@y.test"]},"Content":{"Raw":{"Data":"SGVsbG8gd29ybGQ="}},"EmailTags":[{"Name":"n","Value":"v"}],"ConfigurationSetName":null}'],
  ['whitespace everywhere', ' \r\n\t{ "Content" : { "Raw" : { "Data" : "QUJD" , "x" : 1 } } , "n" : -1.5e3 } \n'],
  ['escapes in the string', '{"Content":{"Raw":{"Data":"QU\\/D\\u002BRA\\u003d\\u003D\\r\\n\\t\\"\\\\\\b\\f"}}}'],
  ['surrogate escapes', '{"Content":{"Raw":{"Data":"\\ud83d\\ude00 \\udc00"}}}'],
  ['unicode in and around', '{"Ünï":"ça ✓ 😀","Content":{"Raw":{"Data":"é😀\u00a0x"},"Simple":"日本"}}'],
  ['escaped member names', '{"Cont\\u0065nt":{"R\\u0061w":{"D\\u0061ta":"QQ=="}}}'],
  ['names with quotes and braces', '{"a\\"{[":"}]\\"","Content":{"x}":"{","Raw":{"]":"[","Data":"QQ=="}}}'],
  ['path names at other depths', '{"Data":"x","Raw":{"Data":"y"},"Other":{"Content":{"Raw":{"Data":"z"}}},"Content":{"Data":"w","Raw":{"Raw":{"Data":"v"}}}}'],
  ['arrays on the path', '{"Content":[{"Raw":{"Data":"x"}}],"C":{"Raw":[{"Data":"y"}]}}'],
  ['array of strings at Data', '{"Content":{"Raw":{"Data":["QQ==","Qg=="]}}}'],
  ['a number at Data', '{"Content":{"Raw":{"Data":12}}}'],
  ['an object at Data', '{"Content":{"Raw":{"Data":{"Data":"x"}}}}'],
  ['duplicate Data', '{"Content":{"Raw":{"Data":"Zmlyc3Q=","Data":"c2Vjb25k"}}}'],
  ['duplicate Content, the later without Raw', '{"Content":{"Raw":{"Data":"Zmlyc3Q="}},"Content":{"Simple":{}}}'],
  ['duplicate Raw, the later a string Data', '{"Content":{"Raw":{"Data":"QQ=="},"Raw":{"Data":"Qg=="}}}'],
  ['later Data not a string', '{"Content":{"Raw":{"Data":"QQ==","Data":null}}}'],
  ['deep nesting elsewhere', '{"a":[[[[{"b":[{"Content":{"Raw":{"Data":"x"}}}]}]]]],"Content":{"Raw":{"Data":"QQ=="}}}'],
  ['empty string', '{"Content":{"Raw":{"Data":""}}}'],
  ['empty object', '{}'],
  ['top-level array', '[{"Content":{"Raw":{"Data":"x"}}}]'],
  ['top-level string', '"Content"'],
  ['literals', '{"t":true,"f":false,"n":null,"Content":{"Raw":{"Data":"QQ==","z":0}}}'],
  // Invalid documents: each must be refused.
  ['raw control character in the string', '{"Content":{"Raw":{"Data":"QQ\n=="}}}'],
  ['raw tab in the string', '{"Content":{"Raw":{"Data":"QQ\t=="}}}'],
  ['bad escape in the string', '{"Content":{"Raw":{"Data":"QQ\\x=="}}}'],
  ['short unicode escape in the string', '{"Content":{"Raw":{"Data":"QQ\\u12"}}}'],
  ['bad hex in the string', '{"Content":{"Raw":{"Data":"QQ\\u12G4"}}}'],
  ['unterminated string', '{"Content":{"Raw":{"Data":"QQ=='],
  ['unterminated escape', '{"Content":{"Raw":{"Data":"QQ\\'],
  ['unterminated object', '{"Content":{"Raw":{"Data":"QQ=="}}'],
  ['trailing garbage', '{"Content":{"Raw":{"Data":"QQ=="}}} x'],
  ['missing colon', '{"Content":{"Raw":{"Data" "QQ=="}}}'],
  ['missing comma', '{"a":1 "Content":{"Raw":{"Data":"QQ=="}}}'],
  ['byte order mark', '\ufeff{"Content":{"Raw":{"Data":"QQ=="}}}'],
  ['raw control character elsewhere', '{"a":"\u0001","Content":{"Raw":{"Data":"QQ=="}}}'],
  ['invalid UTF-8 in the string', Buffer.concat([Buffer.from('{"Content":{"Raw":{"Data":"QQ'), Buffer.from([0xc3, 0x28, 0xe2, 0x82]), Buffer.from('=="}}}')])],
  ['invalid UTF-8 before an escape', Buffer.concat([Buffer.from('{"Content":{"Raw":{"Data":"QQ'), Buffer.from([0xe2, 0x82]), Buffer.from('\\n"}}}')])],
  ['empty', ''],
];

describe('JsonStringExtractor', () => {
  for (const [name, text] of DOCS) {
    it(`${name}: the same value as JSON.parse at every cut`, () => {
      const doc = Buffer.isBuffer(text) ? text : Buffer.from(text, 'utf8');
      const want = expected(doc);
      for (const cuts of everyCut(doc)) {
        const r = run(doc, cuts);
        expect(r.value, `cuts ${cuts.join(',')}`).toEqual(want);
      }
    });
  }

  it('streams the string at the path and nothing else', () => {
    const doc = Buffer.from('{"Data":"a","Content":{"Raw":{"Data":"QU\\/JD","x":"y"},"Data":"b"}}');
    for (const cuts of everyCut(doc)) {
      const r = run(doc, cuts);
      expect(r.strings).toEqual(['QU/JD']);
      expect(r.opens).toBe(1);
      expect(r.closes).toBe(1);
    }
  });

  it('gives the characters of invalid UTF-8 as Buffer#toString does', () => {
    const bytes = Buffer.from([0x51, 0xc3, 0x28, 0xe2, 0x82, 0xf0, 0x9f, 0x98, 0x80, 0xed, 0xa0, 0x80, 0xff, 0x51]);
    const doc = Buffer.concat([Buffer.from('{"Content":{"Raw":{"Data":"'), bytes, Buffer.from('"}}}')]);
    for (const cuts of everyCut(doc)) expect(run(doc, cuts).strings).toEqual([bytes.toString('utf8')]);
  });

  it('keeps a document without the path as it came', () => {
    const doc = Buffer.from('{"FromEmailAddress":"a@b.test","Content":{"Simple":{"Subject":{"Data":"x"}}}}');
    const x = new JsonStringExtractor(PATH, { open: () => expect.fail('nothing to stream'), text: () => {}, close: () => {} }, PLACEHOLDER_JSON);
    x.write(doc.subarray(0, 10));
    x.write(doc.subarray(10));
    expect(x.end().rest.equals(doc)).toBe(true);
  });

  it('leaves only the placeholder of a large string in the remainder', () => {
    const data = 'QUJD'.repeat(250_000);
    const doc = Buffer.from(`{"Content":{"Raw":{"Data":"${data}"}}}`);
    let got = 0;
    const x = new JsonStringExtractor(PATH, { open: () => {}, text: (s) => (got += s.length), close: () => {} }, PLACEHOLDER_JSON);
    for (let at = 0; at < doc.length; at += 65_536) x.write(doc.subarray(at, at + 65_536));
    const { rest } = x.end();
    expect(got).toBe(data.length);
    expect(rest.toString()).toBe(`{"Content":{"Raw":{"Data":"${PLACEHOLDER_JSON}"}}}`);
  });

  it('agrees with JSON.parse on generated documents, cut anywhere', () => {
    const member = fc.oneof(fc.constantFrom('Content', 'Raw', 'Data', 'Simple', 'x'), fc.string());
    const value = fc.letrec((tie) => ({
      v: fc.oneof(
        { depthSize: 'small' },
        fc.jsonValue({ maxDepth: 1 }),
        fc.string({ unit: 'binary' }),
        fc.dictionary(member, tie('v'), { maxKeys: 4 }),
        fc.array(tie('v'), { maxLength: 3 }),
      ),
    })).v;
    const rawData = fc.oneof(fc.base64String(), fc.string({ unit: 'binary' }), value);
    const body = fc.record({
      before: fc.dictionary(member, value, { maxKeys: 3 }),
      data: rawData,
      rawExtra: fc.dictionary(member, value, { maxKeys: 2 }),
      after: fc.dictionary(member, value, { maxKeys: 3 }),
    });
    fc.assert(
      fc.property(body, fc.array(fc.nat(), { maxLength: 6 }), fc.boolean(), ({ before, data, rawExtra, after }, rawCuts, spaced) => {
        const obj = { ...before, Content: { ...rawExtra, Raw: { ...rawExtra, Data: data } }, ...after };
        let text = JSON.stringify(obj, null, spaced ? 1 : undefined);
        // Escape some characters JSON.stringify leaves alone, as other encoders do.
        text = text.replace(/\//g, '\\/').replace(/(?<![eE])\+/g, '\\u002B');
        const doc = Buffer.from(text, 'utf8');
        const cuts = [...new Set(rawCuts.map((c) => c % (doc.length + 1)))].sort((a, b) => a - b);
        expect(run(doc, cuts).value).toEqual(JSON.parse(text));
      }),
      { numRuns: 500 },
    );
  });

  it('refuses what JSON.parse refuses, on mangled documents', () => {
    const base = '{"A":[1,"s"],"Content":{"Raw":{"Data":"QU\\/JD\\u002B=="}},"B":{"c":true}}';
    fc.assert(
      fc.property(fc.nat(base.length - 1), fc.constantFrom('', '"', '\\', '{', '}', '[', ']', ':', ',', '\n', 'x', '\\u', '\u0001'), fc.array(fc.nat(), { maxLength: 4 }), (at, insert, rawCuts) => {
        const text = base.slice(0, at) + insert + base.slice(at + (insert === '' ? 1 : 0));
        const doc = Buffer.from(text, 'utf8');
        const cuts = [...new Set(rawCuts.map((c) => c % (doc.length + 1)))].sort((a, b) => a - b);
        expect(run(doc, cuts).value).toEqual(expected(doc));
      }),
      { numRuns: 2000 },
    );
  });
});
