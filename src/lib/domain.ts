/**
 * Syntax of domain names (RFC 1035 §2.3.4, RFC 5890 for IDNA) and email addresses (RFC 5321 §4.1.2,
 * §4.5.3.1) as SES accepts them for identities: domains in ASCII (IDNs converted to Punycode), email
 * local parts in 7-bit ASCII.
 */
import { domainToASCII } from 'node:url';

/** Result of checking a name: the normalised form, or why it is not valid. */
export type Checked = { ok: true; value: string } | { ok: false; reason: string };

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/** Checks and lower-cases a domain name; Unicode names become Punycode. */
export function checkDomain(input: string): Checked {
  if (typeof input !== 'string' || input.length === 0) return { ok: false, reason: 'the domain is empty' };
  if (input.length > 253) return { ok: false, reason: `the domain is ${input.length} characters long; the limit is 253` };
  const trimmed = input.endsWith('.') ? input.slice(0, -1) : input;
  // eslint-disable-next-line no-control-regex
  const ascii = /^[\x00-\x7f]*$/.test(trimmed) ? trimmed.toLowerCase() : domainToASCII(trimmed);
  if (!ascii) return { ok: false, reason: 'the domain is not a valid internationalized domain name' };
  if (ascii.length > 253) return { ok: false, reason: `the domain is ${ascii.length} characters long; the limit is 253` };
  const labels = ascii.split('.');
  if (labels.length < 2) return { ok: false, reason: 'the domain needs at least two labels (example.com)' };
  for (const l of labels) {
    if (!LABEL.test(l)) return { ok: false, reason: `"${l}" is not a valid DNS label (1-63 letters, digits or hyphens, not starting or ending with a hyphen)` };
  }
  if (/^\d+$/.test(labels[labels.length - 1] ?? '')) return { ok: false, reason: 'the top-level label cannot be numeric' };
  return { ok: true, value: ascii };
}

// RFC 5322 atext plus dot (dot-atom); quoted local parts are not accepted as identities.
const LOCAL = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;

/** Checks an email address (`local@domain`); the domain part is lower-cased, the local part kept. */
export function checkEmailAddress(input: string): Checked {
  if (typeof input !== 'string' || input.length === 0) return { ok: false, reason: 'the address is empty' };
  if (input.length > 320) return { ok: false, reason: 'the address is longer than 320 characters' };
  const at = input.lastIndexOf('@');
  if (at <= 0 || at === input.length - 1) return { ok: false, reason: 'the address needs a local part and a domain (name@example.com)' };
  const local = input.slice(0, at);
  if (local.length > 64) return { ok: false, reason: 'the local part is longer than 64 characters' };
  if (!LOCAL.test(local)) return { ok: false, reason: 'the local part has characters that are not allowed (7-bit ASCII only)' };
  const d = checkDomain(input.slice(at + 1));
  if (!d.ok) return d;
  return { ok: true, value: `${local}@${d.value}` };
}

/** True when `name` looks like an email address rather than a domain. */
export function isEmailAddress(name: string): boolean {
  return name.includes('@');
}

/** True when `sub` equals `parent` or is a subdomain of it. */
export function isSameOrSubdomain(sub: string, parent: string): boolean {
  return sub === parent || sub.endsWith(`.${parent}`);
}
