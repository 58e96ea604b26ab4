/** ARNs of Sesame's resources, in the shapes SES uses (`arn:aws:ses:<region>:<account>:identity/<name>`). */

/** The scope an ARN is built in. */
export interface ArnScope {
  region: string;
  accountId: string;
}

/** ARN of an email identity. */
export function identityArn(s: ArnScope, name: string): string {
  return `arn:aws:ses:${s.region}:${s.accountId}:identity/${name}`;
}

/** ARN of the IAM-style user behind an access key, as SES names callers in AccessDenied messages. */
export function callerArn(accountId: string, accessKeyId: string): string {
  return `arn:aws:iam::${accountId}:user/${accessKeyId}`;
}

/** Parts of an SES ARN, or undefined if `arn` is not one. */
export function parseSesArn(arn: string): { region: string; accountId: string; resourceType: string; resourceName: string } | undefined {
  const m = /^arn:aws:ses:([a-z0-9-]+):(\d{12}):([a-z-]+)\/(.+)$/.exec(arn);
  if (!m) return undefined;
  return { region: m[1]!, accountId: m[2]!, resourceType: m[3]!, resourceName: m[4]! };
}
