/**
 * Decoding of SES v1 Query parameters: a flat form (`Destinations.member.1=…`,
 * `Tags.member.1.Name=…`, `X.entry.1.key=…`) read through typed accessors that raise SES's
 * `InvalidParameterValue`/`MissingParameter`-style errors.
 */
import { badRequest } from '../../core/index.ts';

/** The decoded parameters of one request. */
export class QueryParams {
  private constructor(private readonly map: Map<string, string>) {}

  /** Parses an `application/x-www-form-urlencoded` body plus the URL's query string. Duplicate names are refused. */
  static parse(body: Buffer, queryString: string): QueryParams {
    const map = new Map<string, string>();
    for (const source of [queryString, body.toString('utf8')]) {
      if (!source) continue;
      for (const [k, v] of new URLSearchParams(source)) {
        if (map.has(k)) throw badRequest(`Parameter ${k} is given more than once.`);
        map.set(k, v);
      }
    }
    return new QueryParams(map);
  }

  /** A string parameter. */
  string(name: string, opts: { required: true }): string;
  string(name: string, opts?: { required?: false }): string | undefined;
  string(name: string, opts: { required?: boolean } = {}): string | undefined {
    const v = this.map.get(name);
    if (v === undefined && opts.required) throw badRequest(`1 validation error detected: Value null at '${lowerFirst(name)}' failed to satisfy constraint: Member must not be null`, 'ValidationError');
    return v;
  }

  /** A boolean parameter (`true`/`false`). */
  boolean(name: string, opts: { required?: boolean } = {}): boolean | undefined {
    const v = this.string(name, opts as { required: true });
    if (v === undefined) return undefined;
    if (v !== 'true' && v !== 'false') throw badRequest(`Value ${v} for parameter ${name} is invalid. It must be true or false.`);
    return v === 'true';
  }

  /** An integer parameter within bounds. */
  integer(name: string, min: number, max: number): number | undefined {
    const v = this.string(name);
    if (v === undefined) return undefined;
    if (!/^-?\d+$/.test(v) || Number(v) < min || Number(v) > max) throw badRequest(`Value ${v} for parameter ${name} is invalid. It must be an integer from ${min} to ${max}.`);
    return Number(v);
  }

  /** A list of strings: `name.member.1`, `name.member.2`, … (stops at the first gap). */
  list(name: string): string[] {
    const out: string[] = [];
    for (let i = 1; ; i++) {
      const v = this.map.get(`${name}.member.${i}`);
      if (v === undefined) break;
      out.push(v);
    }
    return out;
  }

  /** A list of structures: `name.member.N.Field` for each field (stops at the first N with none). */
  structList(name: string, fields: string[]): Array<Record<string, string | undefined>> {
    const out: Array<Record<string, string | undefined>> = [];
    for (let i = 1; ; i++) {
      const entry: Record<string, string | undefined> = {};
      let any = false;
      for (const f of fields) {
        const v = this.map.get(`${name}.member.${i}.${f}`);
        if (v !== undefined) any = true;
        entry[f] = v;
      }
      if (!any) break;
      out.push(entry);
    }
    return out;
  }

  /** The action name. */
  get action(): string | undefined {
    return this.map.get('Action');
  }
}

function lowerFirst(s: string): string {
  return s.charAt(0).toLowerCase() + s.slice(1);
}
