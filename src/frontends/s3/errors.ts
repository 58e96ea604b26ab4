/**
 * How refusals appear on the S3 REST wire: S3's `<Error>` document with its codes and statuses (S3 API
 * reference, "Error responses" → "List of error codes"). Core's object store raises S3's own codes
 * (ObjectStoreError); every other code of core's catalogue (authorization, authentication, internal
 * errors) has an S3 form here, and test/unit/s3-errors.test.ts fails when one is missing.
 */
import type { ErrorCode, S3ErrorCode } from '../../core/index.ts';

/** HTTP status of each S3 error code. */
export const S3_STATUS: Record<S3ErrorCode, number> = {
  AccessDenied: 403,
  AuthorizationHeaderMalformed: 400,
  AuthorizationQueryParametersError: 400,
  BadDigest: 400,
  BucketAlreadyExists: 409,
  BucketAlreadyOwnedByYou: 409,
  BucketNotEmpty: 409,
  EntityTooLarge: 400,
  IllegalLocationConstraintException: 400,
  IncompleteBody: 400,
  InternalError: 500,
  InvalidAccessKeyId: 403,
  InvalidArgument: 400,
  InvalidBucketName: 400,
  InvalidDigest: 400,
  InvalidRange: 416,
  InvalidRequest: 400,
  InvalidURI: 400,
  KeyTooLongError: 400,
  MalformedXML: 400,
  MetadataTooLarge: 400,
  MethodNotAllowed: 405,
  MissingContentLength: 411,
  NoSuchBucket: 404,
  NoSuchKey: 404,
  NotImplemented: 501,
  NotModified: 304,
  PreconditionFailed: 412,
  RequestTimeTooSkewed: 403,
  SignatureDoesNotMatch: 403,
  SlowDown: 503,
  XAmzContentSHA256Mismatch: 400,
};

/** The S3 code that stands for each code of core's catalogue when core raised no S3 code of its own. */
export const S3_CATALOGUE: Record<ErrorCode, S3ErrorCode> = {
  BadRequestException: 'InvalidArgument',
  NotFoundException: 'InvalidArgument',
  AlreadyExistsException: 'InvalidArgument',
  LimitExceededException: 'InvalidRequest',
  ConflictException: 'InvalidRequest',
  InvalidNextTokenException: 'InvalidArgument',
  MessageRejected: 'InvalidRequest',
  MailFromDomainNotVerifiedException: 'InvalidRequest',
  SendingPausedException: 'AccessDenied',
  AccountSuspendedException: 'AccessDenied',
  TooManyRequestsException: 'SlowDown',
  AccessDenied: 'AccessDenied',
  // An unsigned request is anonymous to S3, and anonymous users may do nothing here.
  MissingAuthenticationToken: 'AccessDenied',
  IncompleteSignature: 'AuthorizationHeaderMalformed',
  InvalidClientTokenId: 'InvalidAccessKeyId',
  SignatureDoesNotMatch: 'SignatureDoesNotMatch',
  UnknownOperation: 'NotImplemented',
  InternalServiceErrorException: 'InternalError',
};
