/**
 * AUTH PLAIN and LOGIN (offered only over TLS, see server.ts): user name = access key id, password
 * = the SES SMTP password derived from the key's secret for SESAME_REGION (ses-surface §3.2),
 * compared in constant time. Unknown keys, revoked keys and wrong passwords get the same
 * `535 Authentication Credentials Invalid`, and all count toward the address's brute-force brake.
 */
import { randomBytes } from 'node:crypto';
import type { SMTPServerAuthentication, SMTPServerAuthenticationResponse, SMTPServerSession } from 'smtp-server';
import { SesError, type Principal } from '../../core/index.ts';
import { verifySmtpPassword } from '../../lib/smtp-password.ts';
import type { SubmissionContext } from './context.ts';
import { clientKey } from './limits.ts';
import { REPLIES } from './replies.ts';

/** Compared against when the key does not exist, so that both failures cost the same work. */
const DECOY_SECRET = randomBytes(30).toString('base64');
/** Access key ids are upper-case letters and digits (SESAME_ROOT_ACCESS_KEY_ID allows 16-128). */
const KEY_ID = /^[A-Z0-9]{16,128}$/;

/** Checks one AUTH; resolves with the principal as `user`, or the refusal to send. */
export async function authenticate(ctx: SubmissionContext, auth: SMTPServerAuthentication, session: SMTPServerSession): Promise<SMTPServerAuthenticationResponse> {
  const client = clientKey(session.remoteAddress);
  if (await ctx.throttle.isLockedOut(client)) {
    ctx.metrics.smtpAuth.inc({ result: 'locked_out' });
    ctx.logger.info({ code: 'SMTP_AUTH_LOCKED_OUT', client: session.remoteAddress }, `AUTH from locked-out ${session.remoteAddress} refused`);
    return { message: REPLIES.authLockedOut.text, responseCode: REPLIES.authLockedOut.code };
  }
  const username = auth.username ?? '';
  let found: { principal: Principal; secretAccessKey: string } | undefined;
  if (KEY_ID.test(username)) {
    try {
      found = await ctx.core.accounts.authenticate(username);
    } catch (err) {
      if (!(err instanceof SesError)) {
        ctx.metrics.smtpAuth.inc({ result: 'error' });
        ctx.logger.error({ code: 'SMTP_AUTH_ERROR', err, client: session.remoteAddress }, 'SMTP AUTH could not check the credentials');
        return { message: REPLIES.authUnavailable.text, responseCode: REPLIES.authUnavailable.code };
      }
      // InvalidClientTokenId: unknown or revoked; answered like a wrong password below.
    }
  }
  const matches = verifySmtpPassword(found?.secretAccessKey ?? DECOY_SECRET, ctx.settings.region, auth.password ?? '');
  if (found && matches) {
    ctx.metrics.smtpAuth.inc({ result: 'success' });
    ctx.logger.debug({ code: 'SMTP_AUTH_OK', client: session.remoteAddress, user: found.principal.accessKeyId, method: auth.method }, 'SMTP AUTH succeeded');
    return { user: found.principal };
  }
  const { delayMs, lockedOut, failures } = await ctx.throttle.recordFailure(client);
  ctx.metrics.smtpAuth.inc({ result: 'failure' });
  // The user name is logged (it is an access key id, not a secret); the password never is.
  ctx.logger.info(
    { code: 'SMTP_AUTH_FAILED', client: session.remoteAddress, user: username.slice(0, 128), method: auth.method, failures, delayMs },
    `SMTP AUTH failed for ${username.slice(0, 128)} from ${session.remoteAddress}`,
  );
  if (lockedOut) {
    ctx.logger.warn(
      { code: 'SMTP_AUTH_LOCKOUT', client: session.remoteAddress, lockoutMs: ctx.settings.auth.lockoutMs },
      `${session.remoteAddress} locked out of SMTP AUTH for ${ctx.settings.auth.lockoutMs} ms after ${ctx.settings.auth.maxFailures} failures`,
    );
  }
  if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
  return { message: REPLIES.authInvalid.text, responseCode: REPLIES.authInvalid.code };
}
