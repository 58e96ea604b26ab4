/**
 * The console's Templates page: list (paged), create, read, update and delete email templates, a
 * live preview (the editor's content rendered with template data, nothing stored), and a test send
 * of a stored template. Each route calls the core service SES's template operations call, with the
 * session's principal: the same authorization (`ses:*EmailTemplate`, `ses:TestRenderEmailTemplate`,
 * `ses:SendEmail`) and SES's errors. The test send goes through the SendEmail pipeline exactly as a
 * v2 SendEmail with `Content.Template` does (verified From, sandbox, quota, suppression).
 */
import type { FastifyRequest } from 'fastify';
import type { Core, EmailTemplate, TemplateContent } from '../../core/index.ts';
import { CONSOLE_API, ConsoleRefusal, json, queryOf, type ConsoleKit } from './kit.ts';

const nameOf = (req: FastifyRequest) => (req.params as { name: string }).name;

/** A request's template parts: a part that is not a string is absent (core refuses content with no part). */
function contentOf(body: Record<string, unknown>): TemplateContent {
  const part = (k: string) => (typeof body[k] === 'string' ? (body[k] as string) : undefined);
  return { subject: part('subject'), text: part('text'), html: part('html') };
}

/** Template data as the request gave it: a JSON object in a string (SES's TemplateData), or absent. */
function dataOf(body: Record<string, unknown>): string | undefined {
  const d = body.data;
  if (d === undefined || d === null) return undefined;
  if (typeof d !== 'string') throw new ConsoleRefusal(400, 'BadRequest', 'data must be the template data as a string holding a JSON object, e.g. "{\\"name\\": \\"Ana\\"}".');
  return d;
}

function summary(t: EmailTemplate) {
  return { name: t.name, createdAt: new Date(t.createdAt).toISOString(), updatedAt: new Date(t.updatedAt).toISOString() };
}

function view(t: EmailTemplate) {
  return { ...summary(t), subject: t.content.subject, text: t.content.text, html: t.content.html };
}

export function registerTemplateRoutes(kit: ConsoleKit, core: Core): void {
  const { app, route, session } = kit;
  const templates = core.templates;

  app.get(
    `${CONSOLE_API}/templates`,
    route(async (req) => {
      const s = await session(req);
      const q = queryOf(req);
      const pageSize = q.pageSize ? Number(q.pageSize) : 50;
      if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 100) throw new ConsoleRefusal(400, 'BadRequest', 'pageSize must be a whole number from 1 to 100.');
      const page = await templates.list(s.principal, { nextToken: q.nextToken || undefined, pageSize });
      return { items: page.items.map(summary), ...(page.nextToken ? { nextToken: page.nextToken } : {}) };
    }),
  );
  app.post(
    `${CONSOLE_API}/templates`,
    route(async (req) => {
      const s = await session(req);
      const body = json(req.body);
      const name = typeof body.name === 'string' ? body.name.trim() : body.name;
      await templates.create(s.principal, name, contentOf(body));
      // Only ses:CreateEmailTemplate is needed: the answer is not read back.
      return { name };
    }),
  );
  app.get(
    `${CONSOLE_API}/templates/:name`,
    route(async (req) => view(await templates.get((await session(req)).principal, nameOf(req)))),
  );
  app.put(
    `${CONSOLE_API}/templates/:name`,
    route(async (req) => {
      const s = await session(req);
      await templates.update(s.principal, nameOf(req), contentOf(json(req.body)));
      return undefined;
    }),
  );
  app.delete(
    `${CONSOLE_API}/templates/:name`,
    route(async (req) => {
      await templates.delete((await session(req)).principal, nameOf(req));
      return undefined;
    }),
  );
  app.post(
    `${CONSOLE_API}/templates/:name/render`,
    route(async (req) => {
      const s = await session(req);
      const body = json(req.body);
      // With `content` (the editor's unsaved parts) that is rendered; without, the stored template.
      const draft = body.content && typeof body.content === 'object' && !Array.isArray(body.content) ? contentOf(body.content as Record<string, unknown>) : undefined;
      const r = await templates.renderPreview(s.principal, nameOf(req), dataOf(body), draft);
      return { subject: r.subject, ...(r.text !== undefined ? { text: r.text } : {}), ...(r.html !== undefined ? { html: r.html } : {}) };
    }),
  );
  app.post(
    `${CONSOLE_API}/templates/:name/send-test`,
    route(async (req) => {
      const s = await session(req);
      const body = json(req.body);
      const to = Array.isArray(body.to) ? body.to.filter((a): a is string => typeof a === 'string') : typeof body.to === 'string' ? body.to.split(',') : [];
      // As SES v2 SendEmail with Content.Template {TemplateName, TemplateData}: the stored template,
      // authorized as ses:SendEmail, with every check of the sending pipeline.
      const messageId = await core.sending.send(s.principal, {
        action: 'ses:SendEmail',
        operation: 'SendEmail',
        from: typeof body.from === 'string' ? body.from.trim() : '',
        to: to.map((a) => a.trim()).filter(Boolean),
        content: { kind: 'template', template: { name: nameOf(req) }, data: dataOf(body) },
        maxBytes: 40 * 1024 * 1024,
        sourceIp: req.ip,
      });
      return { messageId };
    }),
  );
}
