/** The v1 sending actions: SendEmail and SendRawEmail, into the same pipeline as v2. */
import { badRequest } from '../../../core/index.ts';
import type { V1Action } from '../handler.ts';
import { messageTags as tags } from './message-tags.ts';

/** The v1 sending actions. */
export const sendingActions: V1Action[] = [
  {
    action: 'SendRawEmail',
    async handler({ core, principal, params, sourceIp }) {
      const data = params.string('RawMessage.Data', { required: true });
      if (!/^[A-Za-z0-9+/\r\n]*={0,2}\s*$/.test(data)) throw badRequest('RawMessage.Data must be base64-encoded.');
      const destinations = params.list('Destinations');
      const messageId = await core.sending.send(principal, {
        action: 'ses:SendRawEmail',
        operation: 'SendRawEmail',
        from: params.string('Source'),
        to: destinations.length > 0 ? destinations : undefined,
        content: { kind: 'raw', data: Buffer.from(data, 'base64') },
        tags: tags(params),
        configurationSetName: params.string('ConfigurationSetName'),
        maxBytes: 10 * 1024 * 1024,
        sourceIp,
      });
      return { MessageId: messageId };
    },
  },
  {
    action: 'SendEmail',
    async handler({ core, principal, params, sourceIp }) {
      const html = params.string('Message.Body.Html.Data');
      const text = params.string('Message.Body.Text.Data');
      if (html === undefined && text === undefined) throw badRequest('Message.Body needs Text or Html.');
      const messageId = await core.sending.send(principal, {
        action: 'ses:SendEmail',
        operation: 'SendEmail',
        from: params.string('Source', { required: true }),
        to: params.list('Destination.ToAddresses'),
        cc: params.list('Destination.CcAddresses'),
        bcc: params.list('Destination.BccAddresses'),
        replyTo: params.list('ReplyToAddresses'),
        content: { kind: 'simple', subject: params.string('Message.Subject.Data', { required: true }), text, html },
        tags: tags(params),
        configurationSetName: params.string('ConfigurationSetName'),
        maxBytes: 10 * 1024 * 1024,
        sourceIp,
      });
      return { MessageId: messageId };
    },
  },
];
