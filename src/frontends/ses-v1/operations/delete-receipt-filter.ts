/** DeleteReceiptFilter (v1): `FilterName`; no error when there is no such filter (M1 declares none). */
import type { V1Action } from '../handler.ts';

/** The action. */
export const deleteReceiptFilter: V1Action = {
  action: 'DeleteReceiptFilter',
  async handler({ core, principal, params }) {
    await core.receiptRules.deleteFilter(principal, params.string('FilterName', { required: true }));
    return undefined;
  },
};
