/**
 * CreateReceiptFilter (v1): `Filter.Name`, `Filter.IpFilter.Policy` (Block|Allow),
 * `Filter.IpFilter.Cidr` (an IPv4 or IPv6 address or CIDR block). AlreadyExists, LimitExceeded
 * past 100 filters, InvalidParameterValue, ValidationError.
 */
import type { V1Action } from '../handler.ts';

/** The action. */
export const createReceiptFilter: V1Action = {
  action: 'CreateReceiptFilter',
  async handler({ core, principal, params }) {
    const name = params.string('Filter.Name');
    const policy = params.string('Filter.IpFilter.Policy');
    const cidr = params.string('Filter.IpFilter.Cidr');
    const ipFilter = policy === undefined && cidr === undefined ? undefined : { policy, cidr };
    await core.receiptRules.createFilter(principal, name === undefined && !ipFilter ? undefined : { name, ipFilter });
    return undefined;
  },
};
