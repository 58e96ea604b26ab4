/**
 * PutAccountDetails: `POST /v2/email/account/details` (M2; POST, unlike the other account PUTs) with
 * `{MailType, WebsiteURL, ContactLanguage, UseCaseDescription, AdditionalContactEmailAddresses,
 * ProductionAccessEnabled}`. Asking for production access opens a review the operator decides.
 */
import type { AccountDetails } from '../../../core/index.ts';
import type { V2Operation } from '../router.ts';
import { bool, str } from '../validate.ts';
import { strings } from './content.ts';

/** The operation. */
export const putAccountDetails: V2Operation = {
  name: 'PutAccountDetails',
  method: 'POST',
  path: '/v2/email/account/details',
  async handler({ core, principal, body }) {
    // Types are checked here; core checks the values (enums, URL form, lengths, addresses).
    await core.accountSettings.putDetails(principal, {
      mailType: str(body, 'MailType', { required: true }) as AccountDetails['mailType'],
      websiteURL: str(body, 'WebsiteURL', { required: true }),
      contactLanguage: str(body, 'ContactLanguage') as AccountDetails['contactLanguage'],
      useCaseDescription: str(body, 'UseCaseDescription'),
      additionalContactEmailAddresses: strings(body.AdditionalContactEmailAddresses, 'AdditionalContactEmailAddresses'),
      productionAccessEnabled: bool(body, 'ProductionAccessEnabled'),
    });
    return {};
  },
};
