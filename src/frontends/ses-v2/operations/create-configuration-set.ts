/**
 * CreateConfigurationSet: `POST /v2/email/configuration-sets` with `{ConfigurationSetName,
 * TrackingOptions, DeliveryOptions, ReputationOptions, SendingOptions, Tags, SuppressionOptions}`.
 * Options not given take SES's defaults (TLS optional, sending enabled, reputation metrics off, the
 * account's suppression attributes). VdmOptions and ArchivingOptions are AWS-hosted features and
 * are ignored.
 */
import type { V2Operation } from '../router.ts';
import { bool, obj } from '../validate.ts';
import { deliveryOptions, reputationOptions, suppressionOptions, trackingOptions } from './configuration-set-view.ts';

/** The operation. */
export const createConfigurationSet: V2Operation = {
  name: 'CreateConfigurationSet',
  method: 'POST',
  path: '/v2/email/configuration-sets',
  async handler({ core, principal, body }) {
    const delivery = obj(body, 'DeliveryOptions');
    const reputation = obj(body, 'ReputationOptions');
    const sending = obj(body, 'SendingOptions');
    const suppression = obj(body, 'SuppressionOptions');
    const tracking = obj(body, 'TrackingOptions');
    await core.configurationSets.create(
      principal,
      body.ConfigurationSetName,
      {
        delivery: delivery ? deliveryOptions(delivery) : undefined,
        reputation: reputation ? reputationOptions(reputation) : undefined,
        sending: sending ? { sendingEnabled: bool(sending, 'SendingEnabled') ?? true } : undefined,
        suppression: suppression ? suppressionOptions(suppression) : undefined,
        tracking: tracking ? trackingOptions(tracking) : undefined,
      },
      body.Tags,
    );
    return {};
  },
};
