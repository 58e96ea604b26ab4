/**
 * SendTemplatedEmail (v1): `Source`, `Destination.{To,Cc,Bcc}Addresses.member.N`, `ReplyToAddresses`,
 * `Tags`, `ConfigurationSetName`, `Template` or `TemplateArn`, `TemplateData` → `MessageId`, through
 * the same pipeline as every send. As in SES, a template that exists but cannot be rendered with the
 * data still gets a MessageId; nothing is sent and a Rendering Failure event says why. `ReturnPath`,
 * `SourceArn` and `ReturnPathArn` are not used, as in SendEmail (bounces go to the MAIL FROM Sesame sets).
 */
import type { V1Action } from '../handler.ts';
import { messageTags } from './message-tags.ts';
import { templateRef } from './template-content.ts';

/** The action. */
export const sendTemplatedEmail: V1Action = {
  action: 'SendTemplatedEmail',
  async handler({ core, principal, params, sourceIp }) {
    const template = templateRef(params);
    const messageId = await core.sending.send(principal, {
      action: 'ses:SendTemplatedEmail',
      operation: 'SendTemplatedEmail',
      from: params.string('Source', { required: true }),
      to: params.list('Destination.ToAddresses'),
      cc: params.list('Destination.CcAddresses'),
      bcc: params.list('Destination.BccAddresses'),
      replyTo: params.list('ReplyToAddresses'),
      // M1 marks TemplateData required.
      content: { kind: 'template', template, data: params.string('TemplateData', { required: true }) },
      tags: messageTags(params),
      configurationSetName: params.string('ConfigurationSetName'),
      // SES v1: a message is at most 10 MB (DG/quotas).
      maxBytes: 10 * 1024 * 1024,
      sourceIp,
    });
    return { MessageId: messageId };
  },
};
