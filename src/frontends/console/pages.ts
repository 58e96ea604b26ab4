/**
 * The console's pages: the single-page app built into web/dist (`npm run build`), served at
 * /console with a strict Content-Security-Policy. Paths that are not files get index.html (the
 * app routes them). The pages hold no data: everything they show comes from /console/api, which
 * needs a session.
 */
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.woff2': 'font/woff2',
};

/*
 * style-src allows inline styles for one reason: the Templates page previews a template's HTML in a
 * sandboxed `srcdoc` iframe, and a srcdoc document inherits this policy, so without 'unsafe-inline'
 * the email's own `style` attributes and `<style>` elements (how email HTML is styled) would be
 * dropped from the preview. Scripts stay 'self' only (the preview's sandbox runs none either), and
 * img-src/default-src still keep any style from loading anything off-site.
 */
const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
  'x-frame-options': 'DENY',
};

/** Serves the built console from `distDir` under /console. */
export function registerConsolePages(app: FastifyInstance, distDir: string): void {
  const send = async (reply: FastifyReply, rel: string): Promise<FastifyReply> => {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) reply.header(k, v);
    const file = await resolveFile(distDir, rel);
    const target = file ?? (await resolveFile(distDir, 'index.html'));
    if (!target) {
      return reply
        .status(503)
        .header('content-type', 'text/plain; charset=utf-8')
        .send('The web console is not built in this installation. Run `npm run build` (npm install runs it) and restart Sesame.\n');
    }
    const body = await readFile(target);
    // Built assets carry a content hash in their names: cache them for good; index.html never.
    const immutable = file !== undefined && rel.startsWith('assets/');
    return reply
      .header('content-type', TYPES[extname(target)] ?? 'application/octet-stream')
      .header('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache')
      .send(body);
  };
  app.get('/console', (_req, reply) => reply.redirect('/console/', 302));
  app.get('/console/', (_req, reply) => send(reply, 'index.html'));
  app.get('/console/*', (req, reply) => send(reply, (req.params as { '*'?: string })['*'] ?? ''));
}

/** The file `rel` names inside `root`, or undefined when it is not a file there (or tries to leave it). */
async function resolveFile(root: string, rel: string): Promise<string | undefined> {
  if (rel.includes('\0')) return undefined;
  const path = normalize(join(root, rel));
  if (path !== root && !path.startsWith(root.endsWith(sep) ? root : root + sep)) return undefined;
  const s = await stat(path).catch(() => undefined);
  return s?.isFile() ? path : undefined;
}
