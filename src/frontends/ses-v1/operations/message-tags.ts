/**
 * Message tags as the v1 Query API sends them (`Tags.member.N.Name` / `.Value`, and the same shape
 * under `DefaultTags` and `Destinations.member.N.ReplacementTags`), shared by every v1 send action.
 * Name and value rules (characters, length, the reserved `ses:` prefix) are core's.
 */
import { badRequest } from '../../../core/index.ts';
import type { QueryParams } from '../query.ts';

/** The `MessageTag` list under `name` (M1 `MessageTagList`: Name and Value are both required). */
export function messageTags(params: QueryParams, name = 'Tags'): Array<{ name: string; value: string }> {
  return params.structList(name, ['Name', 'Value']).map((t) => {
    if (t.Name === undefined || t.Value === undefined) throw badRequest('Each tag needs a Name and a Value.');
    return { name: t.Name, value: t.Value };
  });
}
