/**
 * Client addresses as the brakes count them (SMTP AUTH, console sign-in): one subscriber per key.
 */
import { isIPv6 } from 'node:net';

/** The key an address is counted under: itself for IPv4, its /64 for IPv6 (one subscriber's prefix). */
export function clientKey(address: string): string {
  const a = address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
  if (!isIPv6(a)) return a;
  const [head = '', tail] = a.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(Math.max(0, 8 - h.length - t.length)).fill('0'), ...t];
  return `${groups.slice(0, 4).map((g) => parseInt(g, 16).toString(16)).join(':')}::/64`;
}
