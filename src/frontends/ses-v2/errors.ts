/**
 * How core's error catalogue appears on the SES v2 REST JSON wire: HTTP status and the
 * `x-amzn-ErrorType` name the AWS SDK turns into an exception class (sdkjs loadRestJsonErrorCode).
 */
import type { ErrorCode } from '../../core/index.ts';

/** Status and error type per catalogue code; a Record, so a new code without a mapping fails to compile. */
export const V2_ERRORS: Record<ErrorCode, { status: number; type: string }> = {
  BadRequestException: { status: 400, type: 'BadRequestException' },
  NotFoundException: { status: 404, type: 'NotFoundException' },
  AlreadyExistsException: { status: 400, type: 'AlreadyExistsException' },
  LimitExceededException: { status: 400, type: 'LimitExceededException' },
  ConflictException: { status: 409, type: 'ConflictException' },
  InvalidNextTokenException: { status: 400, type: 'InvalidNextTokenException' },
  MessageRejected: { status: 400, type: 'MessageRejected' },
  MailFromDomainNotVerifiedException: { status: 400, type: 'MailFromDomainNotVerifiedException' },
  SendingPausedException: { status: 400, type: 'SendingPausedException' },
  AccountSuspendedException: { status: 400, type: 'AccountSuspendedException' },
  TooManyRequestsException: { status: 429, type: 'TooManyRequestsException' },
  // SES v2 names IAM refusals AccessDeniedException (v1 says AccessDenied).
  AccessDenied: { status: 403, type: 'AccessDeniedException' },
  MissingAuthenticationToken: { status: 403, type: 'MissingAuthenticationToken' },
  IncompleteSignature: { status: 400, type: 'IncompleteSignature' },
  InvalidClientTokenId: { status: 403, type: 'InvalidClientTokenId' },
  SignatureDoesNotMatch: { status: 403, type: 'SignatureDoesNotMatch' },
  UnknownOperation: { status: 404, type: 'UnknownOperationException' },
  InternalServiceErrorException: { status: 500, type: 'InternalServiceErrorException' },
};
