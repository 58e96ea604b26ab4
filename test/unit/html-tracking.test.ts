// Verifies src/lib/html-tracking.ts: SES-style click tracking (href rewriting, ses:no-track,
// ses:tags), open tracking (placeholder, before </body>, at the end), and linear time on large and
// hostile bodies.
import { describe, expect, it } from 'vitest';
import { OPEN_TRACKER_PLACEHOLDER, parseLinkTags, rewriteHtml, trackingPixel, type TrackedLink } from '../../src/lib/html-tracking.ts';

/** Tracking URLs that show which index each link got. */
const linkUrl = (index: number) => `https://t.test/c/${index}`;
const click = (html: string) => rewriteHtml(html, { linkUrl });
const PIXEL = '<img src="https://t.test/o" width="1" height="1" border="0" alt="" style="width:1px;height:1px;border:0;margin:0;padding:0;">';
const open = (html: string) => rewriteHtml(html, { pixelUrl: 'https://t.test/o' }).html;

describe('click tracking', () => {
  it('rewrites double-quoted, single-quoted and unquoted hrefs in any case and attribute order', () => {
    const r = click(
      '<p><a href="https://a.test/1">A</a> <A HREF=\'http://b.test/2\' class="x">B</A> ' +
        '<a class=btn target=_blank href=https://c.test/3?q=1>C</a> <a\nid="d"\n  Href = "https://d.test/" >D</a></p>',
    );
    expect(r.html).toBe(
      '<p><a href="https://t.test/c/0">A</a> <A HREF="https://t.test/c/1" class="x">B</A> ' +
        '<a class=btn target=_blank href="https://t.test/c/2">C</a> <a\nid="d"\n  Href = "https://t.test/c/3" >D</a></p>',
    );
    expect(r.links).toEqual([
      { url: 'https://a.test/1', tags: {} },
      { url: 'http://b.test/2', tags: {} },
      { url: 'https://c.test/3?q=1', tags: {} },
      { url: 'https://d.test/', tags: {} },
    ]);
  });

  it('decodes entities in the href to get the real URL and escapes the tracking URL it writes', () => {
    const seen: Array<[number, TrackedLink]> = [];
    const r = rewriteHtml('<a href="https://a.test/?x=1&amp;y=2&#38;z=&#x33;&quot;">a</a>', {
      linkUrl: (i, link) => {
        seen.push([i, link]);
        return `https://t.test/c?u=${link.url}`;
      },
    });
    expect(seen).toEqual([[0, { url: 'https://a.test/?x=1&y=2&z=3"', tags: {} }]]);
    expect(r.html).toBe('<a href="https://t.test/c?u=https://a.test/?x=1&amp;y=2&amp;z=3&quot;">a</a>');
  });

  it('decodes legacy references without ";" the way browsers do in attributes', () => {
    const r = click('<a href="https://a.test/?a=1&ampb=2&amp=3&amp&lt">x</a><a href=" https://b.test/&#0;&#xD800;&#1114112; ">y</a>');
    expect(r.links.map((l) => l.url)).toEqual(['https://a.test/?a=1&ampb=2&amp=3&<', 'https://b.test/\ufffd\ufffd\ufffd']);
  });

  it('decodes numeric references with or without ";" and leaves unknown names alone', () => {
    const r = click(
      '<a href="https://a.test/?a=&#65&#x42;&#X43;&#99999999999999999999;&#;&#x;&apos;&apos&nbsp;&constructor;&toString;&__proto__;&unknown;&">x</a>',
    );
    expect(r.links.map((l) => l.url)).toEqual(["https://a.test/?a=ABC\ufffd&#;&#x;'&apos\u00a0&constructor;&toString;&__proto__;&unknown;&"]);
  });

  it('leaves links other than absolute http(s) URLs as they are', () => {
    const html =
      '<a href="mailto:a@b.test">m</a><a href="tel:+1555">t</a><a href="#top">#</a><a href="/relative">r</a>' +
      '<a href="www.example.com">w</a><a href="{{unsubscribeUrl}}">u</a><a href="https://{{host}}/x">h</a>' +
      '<a href="ftp://f.test/">f</a><a href="javascript:alert(1)">j</a><a href="https://">e</a><a name="x">n</a><a href>b</a>';
    expect(click(html)).toEqual({ html, links: [] });
  });

  it('tracks a link with surrounding whitespace and an uppercase scheme, keyed by the trimmed URL', () => {
    expect(click('<a href="  HTTPS://A.test/x\n">x</a>')).toEqual({
      html: '<a href="https://t.test/c/0">x</a>',
      links: [{ url: 'HTTPS://A.test/x', tags: {} }],
    });
  });

  it('keeps links with ses:no-track, with or without a value, and removes the attribute', () => {
    const r = click(
      '<a ses:no-track href="https://a.test/">a</a> <a href="https://b.test/" ses:no-track="">b</a> ' +
        '<a href=\'https://c.test/\' SES:NO-TRACK=yes class="k">c</a> <a href="https://d.test/">d</a>',
    );
    expect(r.html).toBe('<a href="https://a.test/">a</a> <a href="https://b.test/">b</a> <a href=\'https://c.test/\' class="k">c</a> <a href="https://t.test/c/0">d</a>');
    expect(r.links).toEqual([{ url: 'https://d.test/', tags: {} }]);
  });

  it('reads ses:tags into the link and removes the attribute', () => {
    const r = click('<a href="https://a.test/" ses:tags="product:book;genre:fiction;">a</a><a ses:tags=\'campaign:spring\' href="https://b.test/">b</a>');
    expect(r.html).toBe('<a href="https://t.test/c/0">a</a><a href="https://t.test/c/1">b</a>');
    expect(r.links).toEqual([
      { url: 'https://a.test/', tags: { product: 'book', genre: 'fiction' } },
      { url: 'https://b.test/', tags: { campaign: 'spring' } },
    ]);
  });

  it('removes ses:tags from links it does not track', () => {
    expect(click('<a href="mailto:a@b.test" ses:tags="k:v">m</a><a ses:no-track ses:tags="k:v" href="https://a.test/">a</a>')).toEqual({
      html: '<a href="mailto:a@b.test">m</a><a href="https://a.test/">a</a>',
      links: [],
    });
  });

  it('parses ses:tags leniently', () => {
    expect(parseLinkTags(' a:1 ;; b : 2 ;c;d:;:e;f:x:y;g h:1;i:v w;j-_K:Z_9-;a:3;')).toEqual({ a: '3', b: '2', 'j-_K': 'Z_9-' });
    expect(parseLinkTags('')).toEqual({});
    expect(parseLinkTags('k:v&amp;')).toEqual({});
    // A tag named like an Object.prototype property is data, not a prototype change.
    const tags = parseLinkTags('__proto__:x;constructor:y');
    expect(Object.keys(tags)).toEqual(['__proto__', 'constructor']);
    expect(tags.__proto__).toBe('x');
  });

  it('decodes entities in ses:tags before parsing', () => {
    expect(click('<a href="https://a.test/" ses:tags="a&#58;1&#59;b:2">x</a>').links).toEqual([{ url: 'https://a.test/', tags: { a: '1', b: '2' } }]);
  });

  it('numbers tracked links in document order, skipping untracked ones', () => {
    const calls: number[] = [];
    const r = rewriteHtml('<a href="https://a.test/">a</a><a href="#x">x</a><a ses:no-track href="https://n.test/">n</a><a href="https://b.test/">b</a>', {
      linkUrl: (i) => {
        calls.push(i);
        return `https://t.test/c/${i}`;
      },
    });
    expect(calls).toEqual([0, 1]);
    expect(r.links.map((l) => l.url)).toEqual(['https://a.test/', 'https://b.test/']);
  });

  it('uses the first of duplicate href attributes, as the DOM does', () => {
    expect(click('<a href="https://a.test/" href="https://b.test/">x</a>')).toEqual({
      html: '<a href="https://t.test/c/0" href="https://b.test/">x</a>',
      links: [{ url: 'https://a.test/', tags: {} }],
    });
  });

  it('only rewrites <a> start tags, not other tags or text that looks like one', () => {
    const html =
      '<area href="https://a.test/"><abbr href="https://b.test/">x</abbr><link href="https://c.test/">' +
      '<img alt="<a href=\'https://d.test/\'>"><p title=\'<a href="https://e.test/">\'>text href="https://f.test/"</p></a>';
    expect(click(html)).toEqual({ html, links: [] });
  });

  it('handles self-closing slashes, attributes without spaces between them, and odd names', () => {
    expect(click('<a/href="https://a.test/"/>x</a><a id="i"href="https://b.test/"ses:no-track>y</a><a =x href=https://c.test/>z</a>')).toEqual({
      html: '<a/href="https://t.test/c/0"/>x</a><a id="i"href="https://b.test/">y</a><a =x href="https://t.test/c/1">z</a>',
      links: [
        { url: 'https://a.test/', tags: {} },
        { url: 'https://c.test/', tags: {} },
      ],
    });
  });

  it('tracks links inside comments (Outlook conditional comments carry real links)', () => {
    expect(click('<!--[if mso]><a href="https://a.test/">a</a><![endif]-->').html).toBe('<!--[if mso]><a href="https://t.test/c/0">a</a><![endif]-->');
  });

  it('leaves an unterminated tag and everything after it alone', () => {
    const html = '<a href="https://a.test/">a</a><a href="https://b.test/';
    expect(click(html)).toEqual({ html: '<a href="https://t.test/c/0">a</a><a href="https://b.test/', links: [{ url: 'https://a.test/', tags: {} }] });
    expect(click('<a href="https://a.test/"')).toEqual({ html: '<a href="https://a.test/"', links: [] });
  });

  it('returns the input unchanged when there is nothing to rewrite or no linkUrl', () => {
    const html = '<html><body><a href="https://a.test/" ses:tags="a:b">x</a></body></html>';
    expect(rewriteHtml(html, {})).toEqual({ html, links: [] });
    expect(click('plain text, no tags')).toEqual({ html: 'plain text, no tags', links: [] });
  });
});

describe('open tracking', () => {
  it('writes a 1x1 image with an escaped src', () => {
    expect(trackingPixel('https://t.test/o?a=1&b="2"')).toBe(
      '<img src="https://t.test/o?a=1&amp;b=&quot;2&quot;" width="1" height="1" border="0" alt="" style="width:1px;height:1px;border:0;margin:0;padding:0;">',
    );
  });

  it('replaces the first {{ses:openTracker}} and removes the others', () => {
    expect(OPEN_TRACKER_PLACEHOLDER).toBe('{{ses:openTracker}}');
    expect(open('<body>{{ses:openTracker}}<p>Hi</p>{{ses:openTracker}}</body>{{ses:openTracker}}')).toBe(`<body>${PIXEL}<p>Hi</p></body>`);
  });

  it('otherwise inserts the image before the last </body>, in any case', () => {
    expect(open('<html><body><p>Hi</p></body></html>')).toBe(`<html><body><p>Hi</p>${PIXEL}</body></html>`);
    expect(open('<BODY>x</Body >y</BODY>z')).toBe(`<BODY>x</Body >y${PIXEL}</BODY>z`);
    expect(open('<p>&lt;/body&gt; </bodyx></p>')).toBe(`<p>&lt;/body&gt; </bodyx></p>${PIXEL}`);
  });

  it('otherwise appends the image at the end', () => {
    expect(open('<p>Hi</p>')).toBe(`<p>Hi</p>${PIXEL}`);
    expect(open('')).toBe(PIXEL);
  });

  it('combines with click tracking without tracking the pixel', () => {
    const r = rewriteHtml('<body><a href="https://a.test/">a</a>{{ses:openTracker}}</body>', { linkUrl, pixelUrl: 'https://t.test/o' });
    expect(r).toEqual({ html: `<body><a href="https://t.test/c/0">a</a>${PIXEL}</body>`, links: [{ url: 'https://a.test/', tags: {} }] });
  });
});

describe('large and hostile input', () => {
  it('rewrites a 5 MB body with 50,000 links in linear time', () => {
    const line = '<p>Some text before the link <a class="btn" href="https://example.com/path/page?id=12345&amp;utm=abc" style="color:#f00">Link</a></p>\n';
    const html = `<html><body>${line.repeat(50_000)}</body></html>`;
    expect(html.length).toBeGreaterThan(5_000_000);
    const started = performance.now();
    const r = rewriteHtml(html, { linkUrl, pixelUrl: 'https://t.test/o' });
    const elapsed = performance.now() - started;
    expect(r.links).toHaveLength(50_000);
    expect(r.links[49_999]).toEqual({ url: 'https://example.com/path/page?id=12345&utm=abc', tags: {} });
    expect(r.html.endsWith(`href="https://t.test/c/49999" style="color:#f00">Link</a></p>\n${PIXEL}</body></html>`)).toBe(true);
    // About 0.2 s on one core; the bound only catches quadratic behaviour (which takes minutes here)
    // without failing on a busy CI machine.
    expect(elapsed).toBeLessThan(5_000);
  });

  it.each([
    ['<a ', '<a '.repeat(100_000)],
    ['<a href="', '<a href="'.repeat(100_000)],
    ["<a href='x' ", "<a href='x' ".repeat(100_000)],
    ['one tag with 100k ses:tags', `<a${' ses:tags'.repeat(100_000)} href="https://a.test/">`],
    ['one tag with 100k ses:no-track', `<a${' ses:no-track'.repeat(100_000)}>`],
    ['<<<', '<'.repeat(300_000)],
    ['</</', '</'.repeat(300_000)],
    ['&#', `<a href="https://a.test/${'&#'.repeat(100_000)}">`],
    ['&amp', `<a href="https://a.test/${'&amp'.repeat(100_000)}">`],
    ['&a', `<a href="https://a.test/${'&a'.repeat(1_000_000)}">`],
    ['&#1', `<a href="https://a.test/&#1${'0'.repeat(1_000_000)}">`],
    ['{{ses:openTracker}}', '{{ses:openTracker}}'.repeat(100_000)],
    ['5 MB href', `<a href="https://a.test/${'x'.repeat(5_000_000)}">`],
    ['a whitespace run inside an href', `<a href="https://a.test/${' '.repeat(1_000_000)}x">`],
    ['a whitespace run inside ses:tags', `<a href="https://a.test/" ses:tags="a:${' '.repeat(1_000_000)}b">`],
  ])('returns a result for %s', (_name, html) => {
    const r = rewriteHtml(html, { linkUrl, pixelUrl: 'https://t.test/o' });
    expect(typeof r.html).toBe('string');
    expect(Array.isArray(r.links)).toBe(true);
  });
});
