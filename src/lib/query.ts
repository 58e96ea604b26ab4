/**
 * Decoding of AWS Query-protocol parameters (SES v1, SNS): a flat form (`Destinations.member.1=…`,
 * `Tags.member.1.Key=…`, `Attributes.entry.1.key=…`) read through typed accessors. Each front end
 * supplies the errors it raises, so that the same parser answers in each wire format's own words.
 */

/** What went wrong with a parameter: absent although required, or present with a bad value. */
export type QueryFailureKind = 'missing' | 'invalid';

/** Makes the error a front end throws for a bad parameter. */
export type QueryErrorFactory = (kind: QueryFailureKind, message: string, name?: string) => Error;

/** The decoded parameters of one request. */
export class QueryParams {
  protected constructor(
    private readonly map: Map<string, string>,
    private readonly fail: QueryErrorFactory,
  ) {}

  /** Parses an `application/x-www-form-urlencoded` body plus the URL's query string. Duplicate names are refused. */
  static parse(body: Buffer, queryString: string, fail: QueryErrorFactory): QueryParams {
    const map = new Map<string, string>();
    for (const source of [queryString, body.toString('utf8')]) {
      if (!source) continue;
      for (const [k, v] of new URLSearchParams(source)) {
        if (map.has(k)) throw fail('invalid', `Parameter ${k} is given more than once.`, k);
        map.set(k, v);
      }
    }
    return new QueryParams(map, fail);
  }

  /** A string parameter. */
  string(name: string, opts: { required: true }): string;
  string(name: string, opts?: { required?: false }): string | undefined;
  string(name: string, opts: { required?: boolean } = {}): string | undefined {
    const v = this.map.get(name);
    if (v === undefined && opts.required) throw this.fail('missing', `1 validation error detected: Value null at '${lowerFirst(name)}' failed to satisfy constraint: Member must not be null`, name);
    return v;
  }

  /** A boolean parameter (`true`/`false`). */
  boolean(name: string, opts: { required?: boolean } = {}): boolean | undefined {
    const v = this.string(name, opts as { required: true });
    if (v === undefined) return undefined;
    if (v !== 'true' && v !== 'false') throw this.fail('invalid', `Value ${v} for parameter ${name} is invalid. It must be true or false.`, name);
    return v === 'true';
  }

  /** An integer parameter within bounds. */
  integer(name: string, min: number, max: number): number | undefined {
    const v = this.string(name);
    if (v === undefined) return undefined;
    if (!/^-?\d+$/.test(v) || Number(v) < min || Number(v) > max) throw this.fail('invalid', `Value ${v} for parameter ${name} is invalid. It must be an integer from ${min} to ${max}.`, name);
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

  /**
   * A map: `name.entry.N.<keyField>` / `name.entry.N.<valueField…>` (stops at the first N with no
   * key). Query maps are serialised so by botocore and the AWS SDKs (`Attributes.entry.1.key`).
   * Entries are returned in order; a key given twice is refused.
   */
  entries(name: string, keyField: string, valueFields: string[]): Array<{ key: string; values: Record<string, string | undefined> }> {
    const out: Array<{ key: string; values: Record<string, string | undefined> }> = [];
    const seen = new Set<string>();
    for (let i = 1; ; i++) {
      const key = this.map.get(`${name}.entry.${i}.${keyField}`);
      if (key === undefined) break;
      if (seen.has(key)) throw this.fail('invalid', `${name} has the key ${key} more than once.`, name);
      seen.add(key);
      const values: Record<string, string | undefined> = {};
      for (const f of valueFields) values[f] = this.map.get(`${name}.entry.${i}.${f}`);
      out.push({ key, values });
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
