/**
 * Email templates (SES v2 Create/Get/List/Update/DeleteEmailTemplate, TestRenderEmailTemplate, and
 * the v1 *Template actions). Templates are Handlebars, rendered without HTML escaping as SES renders
 * them; a simple `{{name}}` absent from the data is a rendering failure with SES's message. Compiled
 * templates are cached by name and version so bulk sends compile once.
 */
import { createRequire } from 'node:module';
import type Handlebars from 'handlebars';
import MailComposer from 'nodemailer/lib/mail-composer';
import { joinMessage, splitMessage } from '../../lib/mime.ts';
import type { Storage } from '../../storage/ports.ts';
import { StorageConflictError } from '../../storage/ports.ts';
import type { AccountsService, Principal } from '../accounts/service.ts';
import type { Clock } from '../clock.ts';
import { badRequest, notFound, SesError } from '../errors.ts';
import { page, pageSize } from '../paging.ts';

/** Handlebars, loaded (synchronously: rendering is synchronous) the first time a template is used. */
let handlebarsModule: typeof Handlebars | undefined;
function handlebars(): typeof Handlebars {
  return (handlebarsModule ??= createRequire(import.meta.url)('handlebars') as typeof Handlebars);
}

/** The parts of a template (v2 `EmailTemplateContent`; v1 SubjectPart/TextPart/HtmlPart). */
export interface TemplateContent {
  subject?: string;
  text?: string;
  html?: string;
}

/** A stored template. */
export interface EmailTemplate {
  accountId: string;
  name: string;
  content: TemplateContent;
  createdAt: number;
  updatedAt: number;
}

/** The rendered parts of a template. */
export interface RenderedContent {
  subject: string;
  text?: string;
  html?: string;
}

/** A template that could not be rendered with the data given (SES: Rendering Failure). */
export class RenderingError extends Error {
  override readonly name = 'RenderingError';
  constructor(
    message: string,
    /** v1 error code: MissingRenderingAttribute or InvalidRenderingParameter. */
    readonly v1Code: 'MissingRenderingAttribute' | 'InvalidRenderingParameter',
  ) {
    super(message);
  }
}

const NAME = /^[A-Za-z0-9_-]{1,64}$/;
/** SES: a template is at most 500 KB. */
const MAX_TEMPLATE_BYTES = 500 * 1024;
/** SES: TemplateData is at most 262,144 characters. */
const MAX_DATA_CHARS = 262_144;
const MAX_TEMPLATES = 10_000;

type Compiled = { subject?: HandlebarsTemplateDelegate; text?: HandlebarsTemplateDelegate; html?: HandlebarsTemplateDelegate };

/** Templates service. */
export class TemplatesService {
  private readonly compiled = new Map<string, { updatedAt: number; parts: Compiled }>();

  constructor(
    private readonly storage: Storage,
    private readonly accounts: AccountsService,
    private readonly clock: Clock,
    private readonly region: string,
  ) {}

  /** ARN of a template. */
  arn(accountId: string, name: string): string {
    return `arn:aws:ses:${this.region}:${accountId}:template/${name}`;
  }

  /** Creates a template; AlreadyExists when the name is taken. */
  async create(p: Principal, name: unknown, content: TemplateContent, action = 'ses:CreateEmailTemplate'): Promise<void> {
    const n = this.checkName(name);
    this.accounts.authorize(p, { action, resource: this.arn(p.accountId, n) });
    this.checkContent(content);
    if ((await this.storage.templates.count(p.accountId)) >= MAX_TEMPLATES) {
      throw new SesError('LimitExceededException', `An account can have at most ${MAX_TEMPLATES} templates.`, 'LimitExceeded');
    }
    const now = this.clock.now();
    try {
      await this.storage.templates.create({ accountId: p.accountId, name: n, data: { ...content }, createdAt: now, updatedAt: now });
    } catch (err) {
      if (err instanceof StorageConflictError) throw new SesError('AlreadyExistsException', `Template ${n} already exists for account id ${p.accountId}`, 'AlreadyExists');
      throw err;
    }
  }

  /** A template; NotFound (v1 TemplateDoesNotExist) when absent. */
  async get(p: Principal, name: unknown, action = 'ses:GetEmailTemplate'): Promise<EmailTemplate> {
    const n = this.checkName(name);
    this.accounts.authorize(p, { action, resource: this.arn(p.accountId, n) });
    return this.load(p.accountId, n);
  }

  /** Templates in name order. */
  async list(p: Principal, o: { nextToken?: string; pageSize?: number; action?: string }): Promise<{ items: EmailTemplate[]; nextToken?: string }> {
    this.accounts.authorize(p, { action: o.action ?? 'ses:ListEmailTemplates', resource: '*' });
    const size = pageSize(o.pageSize, 10, 100);
    const r = await page((after, limit) => this.storage.templates.list(p.accountId, { after, limit }), o.nextToken, size);
    return { items: r.items.map(toTemplate), nextToken: r.nextToken };
  }

  /** Replaces a template's content. */
  async update(p: Principal, name: unknown, content: TemplateContent, action = 'ses:UpdateEmailTemplate'): Promise<void> {
    const n = this.checkName(name);
    this.accounts.authorize(p, { action, resource: this.arn(p.accountId, n) });
    this.checkContent(content);
    const existing = await this.load(p.accountId, n);
    const ok = await this.storage.templates.update({ accountId: p.accountId, name: n, data: { ...content }, createdAt: existing.createdAt, updatedAt: Math.max(this.clock.now(), existing.updatedAt + 1) });
    if (!ok) throw this.missing(n);
  }

  /** Deletes a template. */
  async delete(p: Principal, name: unknown, action = 'ses:DeleteEmailTemplate'): Promise<void> {
    const n = this.checkName(name);
    this.accounts.authorize(p, { action, resource: this.arn(p.accountId, n) });
    if (!(await this.storage.templates.delete(p.accountId, n))) throw this.missing(n);
  }

  /**
   * TestRenderEmailTemplate / v1 TestRenderTemplate: the template rendered with `data` as a whole
   * MIME message. Rendering problems are refused here (BadRequest, v1 MissingRenderingAttribute or
   * InvalidRenderingParameter) rather than reported as events.
   */
  async testRender(p: Principal, name: unknown, data: string | undefined, action = 'ses:TestRenderEmailTemplate'): Promise<string> {
    const t = await this.get(p, name, action);
    let r: RenderedContent;
    try {
      r = this.render(t, data);
    } catch (err) {
      if (err instanceof RenderingError) throw badRequest(err.message, err.v1Code);
      throw err;
    }
    const built = await new MailComposer({ subject: r.subject, text: r.text, html: r.html, date: new Date(this.clock.now()) }).compile().build();
    // Nothing is sent, so the preview carries no Message-ID (nodemailer would invent one @localhost).
    const { headers, body } = splitMessage(built);
    return joinMessage(headers.filter((h) => h.name.toLowerCase() !== 'message-id'), body).toString('utf8');
  }

  /**
   * The web console's preview: a template's parts rendered with `data`, as TestRenderEmailTemplate
   * renders them but as parts rather than a MIME message. With `content`, that (unsaved) content is
   * rendered instead of the stored template, after the checks Create/UpdateEmailTemplate make
   * (InvalidTemplate for Handlebars syntax); nothing is stored. Same authorization
   * (`ses:TestRenderEmailTemplate` on the template's ARN) and the same rendering errors as testRender.
   */
  async renderPreview(p: Principal, name: unknown, data: string | undefined, content?: TemplateContent, action = 'ses:TestRenderEmailTemplate'): Promise<RenderedContent> {
    let t: { content: TemplateContent; accountId?: string; name?: string; updatedAt?: number };
    if (content === undefined) t = await this.get(p, name, action);
    else {
      const n = this.checkName(name);
      this.accounts.authorize(p, { action, resource: this.arn(p.accountId, n) });
      this.checkContent(content);
      // Inline: no cache key, so a draft never replaces the compiled stored template.
      t = { content: { subject: content.subject, text: content.text, html: content.html } };
    }
    try {
      return this.render(t, data);
    } catch (err) {
      if (err instanceof RenderingError) throw badRequest(err.message, err.v1Code);
      throw err;
    }
  }

  /** A stored template of an account, for a send (the caller was authorized for the send). */
  async load(accountId: string, name: string): Promise<EmailTemplate> {
    const r = await this.storage.templates.get(accountId, name);
    if (!r) throw this.missing(name);
    return toTemplate(r);
  }

  /**
   * Renders a template with `data` (TemplateData: a JSON object as a string). Throws RenderingError
   * for data that is not a JSON object or lacks an attribute the template uses.
   */
  render(t: { accountId?: string; name?: string; content: TemplateContent; updatedAt?: number }, data: string | undefined): RenderedContent {
    const values = parseTemplateData(data);
    const parts = this.compile(t);
    const missing: string[] = [];
    const options: Handlebars.RuntimeOptions = {
      helpers: {
        // Called by Handlebars for a simple `{{name}}` that is neither a helper nor in the data.
        helperMissing(...args: unknown[]) {
          const o = args[args.length - 1] as { name?: string };
          if (args.length === 1 && o.name) missing.push(o.name);
          return undefined;
        },
      },
    };
    const run = (f: HandlebarsTemplateDelegate | undefined): string | undefined => {
      if (!f) return undefined;
      try {
        return f(values, options);
      } catch (err) {
        throw new RenderingError(`Template rendering failed: ${err instanceof Error ? err.message : String(err)}`, 'InvalidRenderingParameter');
      }
    };
    const out: RenderedContent = { subject: run(parts.subject) ?? '', text: run(parts.text), html: run(parts.html) };
    if (missing.length > 0) throw new RenderingError(`Attribute '${missing[0]}' is not present in the rendering data.`, 'MissingRenderingAttribute');
    return out;
  }

  private compile(t: { accountId?: string; name?: string; content: TemplateContent; updatedAt?: number }): Compiled {
    // Stored templates are cached by account, name and version; inline content is compiled each time.
    const key = t.accountId !== undefined && t.name !== undefined && t.updatedAt !== undefined ? `${t.accountId}\0${t.name}` : undefined;
    const hit = key !== undefined ? this.compiled.get(key) : undefined;
    if (hit && hit.updatedAt === t.updatedAt) return hit.parts;
    const c = (s: string | undefined) => (s === undefined ? undefined : handlebars().compile(s, { noEscape: true }));
    const parts: Compiled = { subject: c(t.content.subject), text: c(t.content.text), html: c(t.content.html) };
    if (key !== undefined) {
      if (this.compiled.size >= 1000) this.compiled.delete(this.compiled.keys().next().value!);
      this.compiled.set(key, { updatedAt: t.updatedAt!, parts });
    }
    return parts;
  }

  /** Validates content: at least one part, within SES's size limit, and valid Handlebars. */
  checkContent(content: TemplateContent): void {
    const parts = [content.subject, content.text, content.html];
    if (parts.every((x) => x === undefined)) throw badRequest('Template content needs a Subject, Text or Html part.');
    const size = parts.reduce((n, x) => n + (x === undefined ? 0 : Buffer.byteLength(x)), 0);
    if (size > MAX_TEMPLATE_BYTES) throw badRequest(`Template content is ${size} bytes; the limit is ${MAX_TEMPLATE_BYTES}.`, 'InvalidTemplate');
    for (const [label, x] of [['Subject', content.subject], ['Text', content.text], ['Html', content.html]] as const) {
      if (x === undefined) continue;
      try {
        handlebars().precompile(x);
      } catch (err) {
        throw badRequest(`Invalid template ${label} part: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`, 'InvalidTemplate');
      }
    }
  }

  private checkName(name: unknown): string {
    if (typeof name !== 'string' || name === '') throw badRequest('TemplateName is required.');
    if (!NAME.test(name)) throw badRequest('TemplateName must be 1 to 64 ASCII letters, digits, underscores or dashes.');
    return name;
  }

  private missing(name: string): SesError {
    return notFound(`Template ${name} does not exist.`, 'TemplateDoesNotExist');
  }
}

/** Parses TemplateData (a JSON object in a string); an absent value is `{}`. */
export function parseTemplateData(data: string | undefined): Record<string, unknown> {
  if (data === undefined || data === '') return {};
  if (data.length > MAX_DATA_CHARS) throw new RenderingError(`Template data is longer than ${MAX_DATA_CHARS} characters.`, 'InvalidRenderingParameter');
  let v: unknown;
  try {
    v = JSON.parse(data);
  } catch {
    throw new RenderingError('Template data is not valid JSON.', 'InvalidRenderingParameter');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new RenderingError('Template data must be a JSON object.', 'InvalidRenderingParameter');
  return v as Record<string, unknown>;
}

function toTemplate(r: { accountId: string; name: string; data: Record<string, unknown>; createdAt: number; updatedAt: number }): EmailTemplate {
  const d = r.data as TemplateContent;
  return { accountId: r.accountId, name: r.name, content: { subject: d.subject, text: d.text, html: d.html }, createdAt: r.createdAt, updatedAt: r.updatedAt };
}
