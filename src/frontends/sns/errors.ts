/**
 * How core's error catalogue appears on the SNS Query wire: HTTP status, `<Code>` and `<Type>`, with
 * SNS's own codes (the `awsQueryError` traits of the SNS API model: InvalidParameter 400, NotFound
 * 404, AuthorizationError 403, Throttled 429, InternalError 500) and the AWS authentication codes the
 * SES v1 front end uses. The SDK turns `InvalidParameter` into `InvalidParameterException` and so on.
 */
import type { ErrorCode } from '../../core/index.ts';

/** Status, code and fault type per catalogue code. */
export const SNS_ERRORS: Record<ErrorCode, { status: number; code: string; type: 'Sender' | 'Receiver' }> = {
  BadRequestException: { status: 400, code: 'InvalidParameter', type: 'Sender' },
  NotFoundException: { status: 404, code: 'NotFound', type: 'Sender' },
  AlreadyExistsException: { status: 400, code: 'InvalidParameter', type: 'Sender' },
  LimitExceededException: { status: 403, code: 'TopicLimitExceeded', type: 'Sender' },
  ConflictException: { status: 400, code: 'ConcurrentAccess', type: 'Sender' },
  InvalidNextTokenException: { status: 400, code: 'InvalidParameter', type: 'Sender' },
  MessageRejected: { status: 400, code: 'InvalidParameter', type: 'Sender' },
  MailFromDomainNotVerifiedException: { status: 400, code: 'InvalidParameter', type: 'Sender' },
  SendingPausedException: { status: 403, code: 'AuthorizationError', type: 'Sender' },
  AccountSuspendedException: { status: 403, code: 'AuthorizationError', type: 'Sender' },
  TooManyRequestsException: { status: 429, code: 'Throttled', type: 'Sender' },
  AccessDenied: { status: 403, code: 'AuthorizationError', type: 'Sender' },
  MissingAuthenticationToken: { status: 403, code: 'MissingAuthenticationToken', type: 'Sender' },
  IncompleteSignature: { status: 400, code: 'IncompleteSignature', type: 'Sender' },
  InvalidClientTokenId: { status: 403, code: 'InvalidClientTokenId', type: 'Sender' },
  SignatureDoesNotMatch: { status: 403, code: 'SignatureDoesNotMatch', type: 'Sender' },
  UnknownOperation: { status: 400, code: 'InvalidAction', type: 'Sender' },
  InternalServiceErrorException: { status: 500, code: 'InternalError', type: 'Receiver' },
};
