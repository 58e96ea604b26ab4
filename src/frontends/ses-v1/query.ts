/**
 * SES v1 Query parameters: the shared Query-form parser (src/lib/query.ts) raising SES v1's errors,
 * `InvalidParameterValue` for a bad value and `ValidationError` for a missing required one.
 */
import { badRequest } from '../../core/index.ts';
import { QueryParams as LibQueryParams, type QueryFailureKind } from '../../lib/query.ts';

const v1Error = (kind: QueryFailureKind, message: string) => badRequest(message, kind === 'missing' ? 'ValidationError' : 'InvalidParameterValue');

/** The decoded parameters of one SES v1 request. */
export class QueryParams extends LibQueryParams {
  /** Parses an `application/x-www-form-urlencoded` body plus the URL's query string, with SES v1's errors. */
  static override parse(body: Buffer, queryString: string): QueryParams {
    return LibQueryParams.parse(body, queryString, v1Error);
  }
}
