/**
 * How core's error catalogue appears on the SES v1 Query wire: HTTP status, `<Code>` and `<Type>`.
 * A SesError may carry a more specific v1 code (e.g. `TemplateDoesNotExist`), which wins.
 */
import type { ErrorCode } from '../../core/index.ts';

/** Status, default code and fault type per catalogue code. */
export const V1_ERRORS: Record<ErrorCode, { status: number; code: string; type: 'Sender' | 'Receiver' }> = {
  BadRequestException: { status: 400, code: 'InvalidParameterValue', type: 'Sender' },
  NotFoundException: { status: 400, code: 'InvalidParameterValue', type: 'Sender' },
  AlreadyExistsException: { status: 400, code: 'AlreadyExists', type: 'Sender' },
  LimitExceededException: { status: 400, code: 'LimitExceeded', type: 'Sender' },
  ConflictException: { status: 400, code: 'InvalidParameterValue', type: 'Sender' },
  InvalidNextTokenException: { status: 400, code: 'InvalidParameterValue', type: 'Sender' },
  MessageRejected: { status: 400, code: 'MessageRejected', type: 'Sender' },
  MailFromDomainNotVerifiedException: { status: 400, code: 'MailFromDomainNotVerifiedException', type: 'Sender' },
  SendingPausedException: { status: 400, code: 'AccountSendingPausedException', type: 'Sender' },
  AccountSuspendedException: { status: 400, code: 'AccountSendingPausedException', type: 'Sender' },
  TooManyRequestsException: { status: 400, code: 'Throttling', type: 'Sender' },
  AccessDenied: { status: 403, code: 'AccessDenied', type: 'Sender' },
  MissingAuthenticationToken: { status: 403, code: 'MissingAuthenticationToken', type: 'Sender' },
  IncompleteSignature: { status: 400, code: 'IncompleteSignature', type: 'Sender' },
  InvalidClientTokenId: { status: 403, code: 'InvalidClientTokenId', type: 'Sender' },
  SignatureDoesNotMatch: { status: 403, code: 'SignatureDoesNotMatch', type: 'Sender' },
  UnknownOperation: { status: 400, code: 'InvalidAction', type: 'Sender' },
  InternalServiceErrorException: { status: 500, code: 'InternalFailure', type: 'Receiver' },
};
