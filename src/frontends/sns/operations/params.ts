/** Query-form shapes that several SNS actions share: attribute maps and tag lists. */
import type { QueryParams } from '../../../lib/query.ts';

/** `Attributes.entry.N.key` / `.value` as a record (SNS's TopicAttributesMap and SubscriptionAttributesMap). */
export function attributesParam(params: QueryParams, name = 'Attributes'): Record<string, string> | undefined {
  const entries = params.entries(name, 'key', ['value']);
  if (entries.length === 0) return undefined;
  return Object.fromEntries(entries.map((e) => [e.key, e.values.value ?? '']));
}

/** `Tags.member.N.Key` / `.Value`. */
export function tagsParam(params: QueryParams): Array<{ key?: string; value?: string }> {
  return params.structList('Tags', ['Key', 'Value']).map((t) => ({ key: t.Key, value: t.Value }));
}
