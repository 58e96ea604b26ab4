/**
 * Sending settings of an account, stored in AccountRecord.settings. Defaults suit a self-hosted
 * install whose operator owns the machine: production access on, no daily quota (-1, as SES spells
 * "unlimited") and no rate cap. PutAccountDetails / PutAccountSendingAttributes change them.
 */
import type { AccountRecord } from '../../storage/ports.ts';

/** The settings the sending pipeline reads. */
export interface AccountSendingSettings {
  sendingEnabled: boolean;
  productionAccessEnabled: boolean;
  /** Recipients per rolling 24 hours; -1 for unlimited. */
  max24HourSend: number;
  /** Recipients per second; -1 for unlimited. */
  maxSendRate: number;
}

/** Reads an account's settings with defaults filled in. */
export function accountSettings(account: AccountRecord | undefined): AccountSendingSettings {
  const s = (account?.settings ?? {}) as Partial<AccountSendingSettings>;
  return {
    sendingEnabled: s.sendingEnabled ?? true,
    productionAccessEnabled: s.productionAccessEnabled ?? true,
    max24HourSend: s.max24HourSend ?? -1,
    maxSendRate: s.maxSendRate ?? -1,
  };
}
