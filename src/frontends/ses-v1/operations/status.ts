/** v1 spells statuses in CamelCase (`Pending`, `Success`, …) where v2 uses PENDING, SUCCESS. */

const V1_STATUS: Record<string, string> = {
  PENDING: 'Pending',
  SUCCESS: 'Success',
  FAILED: 'Failed',
  TEMPORARY_FAILURE: 'TemporaryFailure',
  NOT_STARTED: 'NotStarted',
  USE_DEFAULT_VALUE: 'UseDefaultValue',
  REJECT_MESSAGE: 'RejectMessage',
};

/** Converts a v2 enum value to v1's spelling. */
export function v1Enum(v: string): string {
  return V1_STATUS[v] ?? v;
}

/** Converts v1's BehaviorOnMXFailure to v2's spelling (undefined stays undefined). */
export function v2Behavior(v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  if (v === 'UseDefaultValue') return 'USE_DEFAULT_VALUE';
  if (v === 'RejectMessage') return 'REJECT_MESSAGE';
  return v; // core refuses anything else with a clear message
}
