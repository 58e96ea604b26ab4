/**
 * Open and click tracking rewrites of an HTML body, as Amazon SES makes them
 * (SES Developer Guide, "Configuring custom domains to handle open and click tracking" and the
 * open and click tracking FAQs):
 * - click tracking replaces the `href` of every `<a>` that points at an http(s) URL; an `<a>` with
 *   `ses:no-track` is left alone, and `ses:tags="name:value;..."` labels the link's click events.
 *   Both attributes are SES's, so they are removed before the message leaves.
 * - open tracking inserts a 1×1 image where `{{ses:openTracker}}` stands (extra placeholders are
 *   removed), else before `</body>`, else at the end.
 *
 * The scanner is a single left-to-right pass that follows the HTML tokenizer's tag and attribute
 * states (WHATWG HTML §13.2.5) closely enough to find the real `href` of a real `<a>`: quoted,
 * unquoted, any case, any order. Every character is looked at a bounded number of times and the few
 * regular expressions are anchored or match one character, so time is linear in the input even
 * when it is hostile. Comments, `<script>` and `<style>` get no special treatment: links inside
 * Outlook's conditional comments (`<!--[if mso]>`) are real links and are tracked too.
 */

/** A link that click tracking rewrote: its original URL (entities decoded) and its `ses:tags`. */
export interface TrackedLink {
  url: string;
  tags: Record<string, string>;
}

/** What to rewrite: open tracking when `pixelUrl` is given, click tracking when `linkUrl` is given. */
export interface TrackingOptions {
  /** URL of the open-tracking image. */
  pixelUrl?: string;
  /** The tracking URL for the `index`-th tracked link (0-based, in document order). */
  linkUrl?: (index: number, link: TrackedLink) => string;
}

/** The rewritten HTML and the tracked links in document order (position = `index` given to `linkUrl`). */
export interface TrackingResult {
  html: string;
  links: TrackedLink[];
}

/** The placeholder SES replaces with the open-tracking image. */
export const OPEN_TRACKER_PLACEHOLDER = '{{ses:openTracker}}';

/** Applies click tracking, then open tracking, to `html`. */
export function rewriteHtml(html: string, o: TrackingOptions): TrackingResult {
  // Without linkUrl the anchors stay byte for byte as they are, ses:* attributes included.
  const links: TrackedLink[] = [];
  let out = o.linkUrl ? rewriteLinks(html, o.linkUrl, links) : html;
  if (o.pixelUrl !== undefined) out = insertPixel(out, o.pixelUrl);
  return { html: out, links };
}

/** The open-tracking image for `pixelUrl`. */
export function trackingPixel(pixelUrl: string): string {
  return `<img src="${escapeAttribute(pixelUrl)}" width="1" height="1" border="0" alt="" style="width:1px;height:1px;border:0;margin:0;padding:0;">`;
}

function insertPixel(html: string, pixelUrl: string): string {
  const pixel = trackingPixel(pixelUrl);
  const parts = html.split(OPEN_TRACKER_PLACEHOLDER);
  // SES keeps the first placeholder and drops the rest.
  if (parts.length > 1) return parts[0] + pixel + parts.slice(1).join('');
  const body = lastBodyEnd(html);
  return body < 0 ? html + pixel : html.slice(0, body) + pixel + html.slice(body);
}

/** Index of the last `</body` end tag (any case), or -1. */
function lastBodyEnd(html: string): number {
  for (let i = html.lastIndexOf('</'); i >= 0; i = i === 0 ? -1 : html.lastIndexOf('</', i - 1)) {
    if (html.slice(i + 2, i + 6).toLowerCase() !== 'body') continue;
    const next = html.charCodeAt(i + 6);
    if (next === GT || next === SLASH || isSpace(next)) return i;
  }
  return -1;
}

// --- click tracking ---

interface Attribute {
  /** Lower-cased name. */
  name: string;
  /** Where the name starts and where the attribute (including its value and quotes) ends. */
  start: number;
  end: number;
  /** The raw value (entities not decoded), or undefined for a bare attribute. */
  value?: string;
  /** Where the value starts, including its opening quote if any. */
  valueStart: number;
}

interface Tag {
  attributes: Attribute[];
  /** Index just past the closing `>`. */
  end: number;
}

const TAB = 0x09;
const LF = 0x0a;
const FF = 0x0c;
const CR = 0x0d;
const SPACE = 0x20;
const DQUOTE = 0x22;
const HASH = 0x23;
const SQUOTE = 0x27;
const SLASH = 0x2f;
const SEMICOLON = 0x3b;
const EQUALS = 0x3d;
const GT = 0x3e;

/** ASCII whitespace as the HTML tokenizer knows it. */
function isSpace(c: number): boolean {
  return c === SPACE || c === TAB || c === LF || c === FF || c === CR;
}

function isAsciiAlpha(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

function rewriteLinks(html: string, linkUrl: (index: number, link: TrackedLink) => string, links: TrackedLink[]): string {
  // Concatenation builds a rope that V8 flattens once; faster here than joining an array of parts.
  let out = '';
  let copied = 0;
  const n = html.length;
  for (let i = html.indexOf('<'); i >= 0 && i < n; i = html.indexOf('<', i)) {
    // Only `<` + letter opens a start tag (§13.2.5.6); `</`, `<!`, `<?` and text are copied as they are.
    if (!isAsciiAlpha(html.charCodeAt(i + 1))) {
      i++;
      continue;
    }
    let nameEnd = i + 2;
    while (nameEnd < n) {
      const c = html.charCodeAt(nameEnd);
      if (isSpace(c) || c === SLASH || c === GT) break;
      nameEnd++;
    }
    const isAnchor = nameEnd - i === 2 && (html.charCodeAt(i + 1) | 0x20) === 0x61;
    const tag = parseAttributes(html, nameEnd, isAnchor);
    // A tag cut off by the end of input is no tag (browsers drop it), and since no later `>` or
    // closing quote exists, no later tag can be complete either: stop here rather than rescan.
    if (!tag) break;
    const rewritten = isAnchor ? rewriteAnchor(html, nameEnd, tag, linkUrl, links) : undefined;
    if (rewritten !== undefined) {
      out += html.slice(copied, nameEnd) + rewritten;
      copied = tag.end;
    }
    i = tag.end;
  }
  return copied === 0 ? html : out + html.slice(copied);
}

/**
 * Reads attributes from `i` (just after the tag name) to the end of the tag, or returns undefined if
 * the input ends first (§13.2.5.32–13.2.5.40, recovering from parse errors as the tokenizer does).
 * Without `collect` it only finds the end, which spares allocations on the many tags that are not
 * `<a>`.
 */
function parseAttributes(s: string, i: number, collect: boolean): Tag | undefined {
  const n = s.length;
  const attributes: Attribute[] = [];
  for (;;) {
    // Between attributes, whitespace and stray `/` (self-closing marker) are skipped.
    while (i < n && (isSpace(s.charCodeAt(i)) || s.charCodeAt(i) === SLASH)) i++;
    if (i >= n) return undefined;
    if (s.charCodeAt(i) === GT) return { attributes, end: i + 1 };
    const start = i;
    i++; // the first character belongs to the name even if it is `=` (§13.2.5.32)
    while (i < n) {
      const c = s.charCodeAt(i);
      if (isSpace(c) || c === SLASH || c === GT || c === EQUALS) break;
      i++;
    }
    const nameEnd = i;
    let j = i;
    while (j < n && isSpace(s.charCodeAt(j))) j++;
    if (j >= n) return undefined;
    if (s.charCodeAt(j) !== EQUALS) {
      if (collect) attributes.push({ name: s.slice(start, nameEnd).toLowerCase(), start, end: i, valueStart: i });
      continue;
    }
    j++;
    while (j < n && isSpace(s.charCodeAt(j))) j++;
    if (j >= n) return undefined;
    const q = s.charCodeAt(j);
    if (q === DQUOTE || q === SQUOTE) {
      const close = s.indexOf(q === DQUOTE ? '"' : "'", j + 1);
      if (close < 0) return undefined;
      if (collect) attributes.push({ name: s.slice(start, nameEnd).toLowerCase(), start, end: close + 1, value: s.slice(j + 1, close), valueStart: j });
      i = close + 1;
    } else {
      let k = j;
      while (k < n) {
        const c = s.charCodeAt(k);
        if (isSpace(c) || c === GT) break;
        k++;
      }
      if (collect) attributes.push({ name: s.slice(start, nameEnd).toLowerCase(), start, end: k, value: s.slice(j, k), valueStart: j });
      i = k;
    }
  }
}

/** The attributes and `>` of a rewritten `<a>` start tag, or undefined to keep the tag as it is. */
function rewriteAnchor(
  html: string,
  nameEnd: number,
  tag: Tag,
  linkUrl: (index: number, link: TrackedLink) => string,
  links: TrackedLink[],
): string | undefined {
  // As in the DOM, the first of duplicate attributes wins.
  const href = tag.attributes.find((a) => a.name === 'href');
  const noTrack = tag.attributes.some((a) => a.name === 'ses:no-track');
  const tagsAttribute = tag.attributes.find((a) => a.name === 'ses:tags');
  const hasSesAttributes = noTrack || tagsAttribute !== undefined;
  const url = href?.value === undefined ? undefined : trimAsciiSpace(decodeEntities(href.value));
  const track = !noTrack && url !== undefined && isTrackable(url);
  if (!track && !hasSesAttributes) return undefined;

  let out = '';
  let pos = nameEnd;
  let previousEnd = nameEnd;
  for (const a of tag.attributes) {
    if (a.name === 'ses:no-track' || a.name === 'ses:tags') {
      // Drop the attribute with the whitespace before it, so `<a x ses:no-track>` becomes `<a x>`.
      out += html.slice(pos, previousEnd);
      pos = a.end;
    } else if (track && a === href) {
      const link: TrackedLink = { url: url!, tags: tagsAttribute?.value === undefined ? {} : parseLinkTags(decodeEntities(tagsAttribute.value)) };
      const index = links.length;
      links.push(link);
      out += `${html.slice(pos, a.valueStart)}"${escapeAttribute(linkUrl(index, link))}"`;
      pos = a.end;
    }
    previousEnd = a.end;
  }
  return out + html.slice(pos, tag.end);
}

/**
 * Only absolute http(s) URLs are tracked: mailto:, tel:, fragments and relative references have no
 * destination a redirect could send the reader to, and `{{...}}` is a template variable that was
 * never rendered, which a redirect would turn into a broken link.
 */
function isTrackable(url: string): boolean {
  return /^https?:\/\//i.test(url) && !url.includes('{{') && URL.canParse(url);
}

const TAG_PART = /^[A-Za-z0-9_-]+$/;

/** The tags of a `ses:tags="name:value;name:value;"` attribute value, read leniently. */
export function parseLinkTags(value: string): Record<string, string> {
  // Empty entries and pairs whose name or value holds anything but letters, digits, `_` and `-`
  // (the charset of SES message tags) are skipped; a repeated name keeps its last value.
  const entries: Array<[string, string]> = [];
  for (const part of value.split(';')) {
    const colon = part.indexOf(':');
    if (colon < 0) continue;
    const name = part.slice(0, colon).trim();
    const tagValue = part.slice(colon + 1).trim();
    if (TAG_PART.test(name) && TAG_PART.test(tagValue)) entries.push([name, tagValue]);
  }
  // fromEntries defines own properties, so a tag named `__proto__` is kept like any other.
  return Object.fromEntries(entries);
}

/** Escapes `s` for a double-quoted attribute value. */
function escapeAttribute(s: string): string {
  return s.replace(/[&"<>]/g, (c) => (c === '&' ? '&amp;' : c === '"' ? '&quot;' : c === '<' ? '&lt;' : '&gt;'));
}

/** Strips leading and trailing ASCII whitespace, as the URL parser does (WHATWG URL §4.4). */
function trimAsciiSpace(s: string): string {
  // A loop, not /\s+$/: that regex retries at every position of an inner whitespace run, which is
  // quadratic in the run's length.
  let start = 0;
  let end = s.length;
  while (start < end && isSpace(s.charCodeAt(start))) start++;
  while (end > start && isSpace(s.charCodeAt(end - 1))) end--;
  return s.slice(start, end);
}

/** Named references worth decoding in a URL; the legacy ones also decode without `;`. */
const NAMED = new Map<string, { text: string; legacy: boolean }>([
  ['amp', { text: '&', legacy: true }],
  ['lt', { text: '<', legacy: true }],
  ['gt', { text: '>', legacy: true }],
  ['quot', { text: '"', legacy: true }],
  ['nbsp', { text: '\u00a0', legacy: true }],
  ['apos', { text: "'", legacy: false }],
]);

/**
 * Decodes character references in an attribute value (§13.2.5.72–13.2.5.80): numeric ones, and
 * the few named ones that matter in URLs. In an attribute a legacy reference without `;` stays as
 * it is when a letter, digit or `=` follows (`?a=1&ampx=2` keeps `&ampx`), so that query strings
 * written without escaping survive.
 */
function decodeEntities(s: string): string {
  let out = '';
  let copied = 0;
  for (let amp = s.indexOf('&'); amp >= 0; amp = s.indexOf('&', amp + 1)) {
    const ref = readReference(s, amp);
    if (!ref) continue;
    out += s.slice(copied, amp) + ref.text;
    copied = ref.end;
    amp = ref.end - 1;
  }
  return copied === 0 ? s : out + s.slice(copied);
}

/** The character reference at `amp` (an `&`) and the index after it, or undefined if there is none. */
function readReference(s: string, amp: number): { text: string; end: number } | undefined {
  let i = amp + 1;
  if (s.charCodeAt(i) === HASH) {
    i++;
    const hex = (s.charCodeAt(i) | 0x20) === 0x78; // x or X
    if (hex) i++;
    const digits = i;
    let code = 0;
    for (; i < s.length; i++) {
      const d = digitValue(s.charCodeAt(i), hex);
      if (d < 0) break;
      // Saturate: every value past Unicode decodes alike, and a long digit run must not overflow.
      code = Math.min(code * (hex ? 16 : 10) + d, 0x110000);
    }
    if (i === digits) return undefined;
    if (s.charCodeAt(i) === SEMICOLON) i++;
    // NUL, surrogates and values past Unicode become U+FFFD (§13.2.5.80).
    const valid = code > 0 && code < 0x110000 && (code < 0xd800 || code > 0xdfff);
    return { text: valid ? String.fromCodePoint(code) : '\ufffd', end: i };
  }
  if (!isAsciiAlpha(s.charCodeAt(i))) return undefined;
  const name = i;
  while (i < s.length && (isAsciiAlpha(s.charCodeAt(i)) || digitValue(s.charCodeAt(i), false) >= 0)) i++;
  const ref = NAMED.get(s.slice(name, i));
  if (!ref) return undefined;
  if (s.charCodeAt(i) === SEMICOLON) return { text: ref.text, end: i + 1 };
  // The run above already took every letter and digit, so only `=` can still follow.
  return ref.legacy && s.charCodeAt(i) !== EQUALS ? { text: ref.text, end: i } : undefined;
}

function digitValue(c: number, hex: boolean): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (!hex) return -1;
  const lower = c | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x61 + 10 : -1;
}
