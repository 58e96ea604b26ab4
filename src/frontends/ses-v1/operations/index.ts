/** Every SES v1 action Sesame serves. */
import type { V1Action } from '../handler.ts';
import { identityActions } from './identities.ts';
import { sendingActions } from './sending.ts';

/** The action table. */
export const actions: V1Action[] = [...identityActions, ...sendingActions];
