/**
 * The one catalogue of refusals core can raise, named as SES v2 names them. Each front end has one
 * table that maps every code to its wire form (v2 REST: status + x-amzn-ErrorType; v1 Query: status +
 * <Code>; SMTP: reply code), and test/unit/error-mapping.test.ts fails when a code is unmapped.
 */

/** Every error code core may raise (SES v2 names; AWS auth names for authentication failures). */
export const ERROR_CODES = [
  'BadRequestException',
  'NotFoundException',
  'AlreadyExistsException',
  'LimitExceededException',
  'ConflictException',
  'InvalidNextTokenException',
  'MessageRejected',
  'MailFromDomainNotVerifiedException',
  'SendingPausedException',
  'AccountSuspendedException',
  'TooManyRequestsException',
  'AccessDenied',
  'MissingAuthenticationToken',
  'IncompleteSignature',
  'InvalidClientTokenId',
  'SignatureDoesNotMatch',
  'UnknownOperation',
  'InternalServiceErrorException',
] as const;

/** A code from the catalogue. */
export type ErrorCode = (typeof ERROR_CODES)[number];

/** A refusal that a front end translates into its wire format. The message is shown to the user as is. */
export class SesError extends Error {
  override readonly name = 'SesError';
  /**
   * @param code catalogue code
   * @param message what is wrong and what to fix, in SES's wording where SES has one
   * @param v1Code a more specific v1 Query code where SES v1 uses one (e.g. `TemplateDoesNotExist`)
   */
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly v1Code?: string,
  ) {
    super(message);
  }
}

/** Shorthand for the most common refusal: invalid input. */
export function badRequest(message: string, v1Code = 'InvalidParameterValue'): SesError {
  return new SesError('BadRequestException', message, v1Code);
}

/** Shorthand for a missing resource. */
export function notFound(message: string, v1Code?: string): SesError {
  return new SesError('NotFoundException', message, v1Code);
}
