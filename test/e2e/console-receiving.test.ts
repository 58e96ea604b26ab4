/**
 * The console's Receiving page over HTTP: rule sets, rules and IP filters made and changed through
 * `/console/api/receiving`, seen through the real SES v1 SDK (DescribeReceiptRuleSet,
 * DescribeActiveReceiptRuleSet, ListReceiptFilters) and acting on mail sent to Sesame's MX port;
 * SES's refusals verbatim with nothing changed; the key's IAM policy (AccessDenied); no session, 401.
 * On SQLite, and on PostgreSQL when SESAME_TEST_DATABASE_URL is set.
 */
import { CreateBucketCommand, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DescribeActiveReceiptRuleSetCommand, DescribeReceiptRuleSetCommand, ListReceiptFiltersCommand, ListReceiptRuleSetsCommand, type SESClient } from '@aws-sdk/client-ses';
import { CreateTopicCommand } from '@aws-sdk/client-sns';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleCall, consoleSignIn, keySession, type ConsoleCallOptions, type ConsoleSession } from '../helpers/console.ts';
import { startSendingFixture, type SendingFixture } from '../helpers/fixtures.ts';
import { eventually, testBackends, type TestServer } from '../helpers/server.ts';

describe.each(testBackends())('console receiving (%s)', (backend) => {
  let fixture: SendingFixture;
  let server: TestServer;
  let ses: SESClient;
  let s3: S3Client;
  let topicArn: string;
  let admin: ConsoleSession;

  const call = (method: string, path: string, options: ConsoleCallOptions = {}) => consoleCall(server, method, `/console/api${path}`, options);
  const v1Rules = async (set: string) => (await ses.send(new DescribeReceiptRuleSetCommand({ RuleSetName: set }))).Rules ?? [];

  beforeAll(async () => {
    fixture = await startSendingFixture({ backend, senders: ['sender.test', 'inbound.test'] });
    server = fixture.server;
    ses = server.ses();
    topicArn = (await server.sns().send(new CreateTopicCommand({ Name: 'console-inbound' }))).TopicArn!;
    s3 = new S3Client({ endpoint: server.url, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey }, maxAttempts: 1 });
    await s3.send(new CreateBucketCommand({ Bucket: 'console-mail' }));
    admin = await consoleSignIn(server, server.accessKeyId, server.secretAccessKey);
  }, 60_000);
  afterAll(async () => {
    s3?.destroy();
    await fixture?.close();
  });

  it('answers no receiving route without a session, and no change without the CSRF token', async () => {
    for (const [method, path] of [
      ['GET', '/receiving'],
      ['POST', '/receiving/rule-sets'],
      ['GET', '/receiving/rule-sets/any'],
      ['PUT', '/receiving/active'],
      ['POST', '/receiving/rule-sets/any/rules'],
      ['GET', '/receiving/filters'],
    ] as const) {
      const a = await call(method, path, method === 'GET' ? {} : { body: {} });
      expect({ method, path, status: a.status, code: a.body.code }).toEqual({ method, path, status: 401, code: 'Unauthenticated' });
    }
    const noToken = await call('POST', '/receiving/rule-sets', { session: admin, csrf: false, body: { name: 'no-token' } });
    expect(noToken).toMatchObject({ status: 403, body: { code: 'InvalidCsrfToken' } });
    expect((await ses.send(new ListReceiptRuleSetsCommand({}))).RuleSets?.map((s) => s.Name) ?? []).not.toContain('no-token');
  });

  it('creates a rule set and a rule that SES v1 describes the same; makes it active; moves, disables and deletes rules', async () => {
    const made = await call('POST', '/receiving/rule-sets', { session: admin, body: { name: 'console-set' } });
    expect(made).toMatchObject({ status: 200, body: { name: 'console-set', active: false, rules: [] } });
    expect(Math.abs(Date.parse(String(made.body.createdAt)) - Date.now())).toBeLessThan(60_000);

    const first = {
      name: 'store',
      enabled: true,
      tlsPolicy: 'Require',
      recipients: ['support@inbound.test', 'inbound.test'],
      scanEnabled: true,
      actions: [{ s3: { bucketName: 'console-mail', objectKeyPrefix: 'in/', topicArn } }, { sns: { topicArn, encoding: 'Base64' } }, { stop: { scope: 'RuleSet' } }],
    };
    const created = await call('POST', '/receiving/rule-sets/console-set/rules', { session: admin, body: { rule: first } });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    expect(created.body.rules).toEqual([first]);
    expect(await v1Rules('console-set')).toEqual([
      {
        Name: 'store',
        Enabled: true,
        TlsPolicy: 'Require',
        Recipients: ['support@inbound.test', 'inbound.test'],
        ScanEnabled: true,
        Actions: [{ S3Action: { BucketName: 'console-mail', ObjectKeyPrefix: 'in/', TopicArn: topicArn } }, { SNSAction: { TopicArn: topicArn, Encoding: 'Base64' } }, { StopAction: { Scope: 'RuleSet' } }],
      },
    ]);

    // Two more rules: one after "store", one without `after` (first, as SES inserts it).
    await call('POST', '/receiving/rule-sets/console-set/rules', { session: admin, body: { rule: { name: 'tag', enabled: true, actions: [{ addHeader: { headerName: 'X-Tag', headerValue: 'console' } }] }, after: 'store' } });
    await call('POST', '/receiving/rule-sets/console-set/rules', { session: admin, body: { rule: { name: 'first' }, after: null } });
    expect((await v1Rules('console-set')).map((r) => r.Name)).toEqual(['first', 'store', 'tag']);

    // Make active: the v1 API's active set is this one, and the list marks it.
    const activated = await call('PUT', '/receiving/active', { session: admin, body: { name: 'console-set' } });
    expect(activated).toEqual({ status: 200, body: { active: 'console-set' } });
    expect((await ses.send(new DescribeActiveReceiptRuleSetCommand({}))).Metadata?.Name).toBe('console-set');
    const listed = await call('GET', '/receiving', { session: admin });
    expect(listed.body).toMatchObject({ active: 'console-set', ruleSets: expect.arrayContaining([expect.objectContaining({ name: 'console-set', active: true })]) });
    expect((await call('GET', '/receiving/rule-sets/console-set', { session: admin })).body.active).toBe(true);

    // Move "tag" up (after "first"), then "first" down (after "tag"); then the whole order at once.
    const up = await call('POST', '/receiving/rule-sets/console-set/rules/tag/position', { session: admin, body: { after: 'first' } });
    expect((up.body.rules as Array<{ name: string }>).map((r) => r.name)).toEqual(['first', 'tag', 'store']);
    expect((await v1Rules('console-set')).map((r) => r.Name)).toEqual(['first', 'tag', 'store']);
    await call('POST', '/receiving/rule-sets/console-set/rules/store/position', { session: admin, body: { after: null } });
    expect((await v1Rules('console-set')).map((r) => r.Name)).toEqual(['store', 'first', 'tag']);
    await call('PUT', '/receiving/rule-sets/console-set/order', { session: admin, body: { ruleNames: ['first', 'store', 'tag'] } });
    expect((await v1Rules('console-set')).map((r) => r.Name)).toEqual(['first', 'store', 'tag']);

    // Disable "store" (the whole rule sent back, enabled false): SES sees it disabled, in place.
    const disabled = await call('PUT', '/receiving/rule-sets/console-set/rules/store', { session: admin, body: { rule: { ...first, enabled: false } } });
    expect(disabled.status).toBe(200);
    expect((await v1Rules('console-set'))[1]).toMatchObject({ Name: 'store', Enabled: false, TlsPolicy: 'Require' });
    await call('PUT', '/receiving/rule-sets/console-set/rules/store', { session: admin, body: { rule: { ...first, enabled: true } } });

    const deleted = await call('DELETE', '/receiving/rule-sets/console-set/rules/first', { session: admin });
    expect((deleted.body.rules as Array<{ name: string }>).map((r) => r.name)).toEqual(['store', 'tag']);
    expect((await v1Rules('console-set')).map((r) => r.Name)).toEqual(['store', 'tag']);

    // The active set cannot be deleted (SES's CannotDelete); cloned, the copy can; deactivated, so can the set.
    expect(await call('DELETE', '/receiving/rule-sets/console-set', { session: admin })).toEqual({ status: 400, body: { code: 'CannotDelete', message: 'Cannot delete active rule set: console-set' } });
    const clone = await call('POST', '/receiving/rule-sets', { session: admin, body: { name: 'console-copy', cloneFrom: 'console-set' } });
    expect((clone.body.rules as Array<{ name: string }>).map((r) => r.name)).toEqual(['store', 'tag']);
    expect((await v1Rules('console-copy')).map((r) => r.Name)).toEqual(['store', 'tag']);
    expect((await call('DELETE', '/receiving/rule-sets/console-copy', { session: admin })).status).toBe(204);
    expect((await ses.send(new ListReceiptRuleSetsCommand({}))).RuleSets?.map((s) => s.Name)).not.toContain('console-copy');
  });

  it("a rule made in the console acts on mail sent to the MX port: header added, stored in S3", async () => {
    await call('POST', '/receiving/rule-sets', { session: admin, body: { name: 'mx-set' } });
    const rule = {
      name: 'keep',
      enabled: true,
      tlsPolicy: 'Optional',
      recipients: ['desk@inbound.test'],
      scanEnabled: false,
      actions: [{ addHeader: { headerName: 'X-Console-Rule', headerValue: 'keep' } }, { s3: { bucketName: 'console-mail', objectKeyPrefix: 'desk/' } }],
    };
    expect((await call('POST', '/receiving/rule-sets/mx-set/rules', { session: admin, body: { rule } })).status).toBe(200);
    expect((await call('PUT', '/receiving/active', { session: admin, body: { name: 'mx-set' } })).body).toEqual({ active: 'mx-set' });

    const mx = nodemailer.createTransport({ host: '127.0.0.1', port: server.mxPort, secure: false, tls: { rejectUnauthorized: false } });
    const raw = `From: someone@outside.test\r\nTo: desk@inbound.test\r\nSubject: Console rule\r\nMessage-ID: <console-rule@outside.test>\r\nDate: ${new Date().toUTCString()}\r\n\r\nHello desk\r\n`;
    const info = await mx.sendMail({ envelope: { from: 'someone@outside.test', to: ['desk@inbound.test'] }, raw });
    mx.close();
    const messageId = /^250 Ok (\w+)/.exec(info.response)![1]!;
    const stored = await eventually(async () => {
      const obj = await s3.send(new GetObjectCommand({ Bucket: 'console-mail', Key: `desk/${messageId}` })).catch(() => undefined);
      return obj ? obj.Body!.transformToString() : undefined;
    });
    expect(stored).toContain('X-Console-Rule: keep');
    expect(stored).toContain('Subject: Console rule');
    expect(stored).toContain('Hello desk');

    // Deactivate: no set is active, and the set can go.
    expect((await call('PUT', '/receiving/active', { session: admin, body: { name: null } })).body).toEqual({ active: null });
    expect((await ses.send(new DescribeActiveReceiptRuleSetCommand({}))).Metadata).toBeUndefined();
    expect((await call('DELETE', '/receiving/rule-sets/mx-set', { session: admin })).status).toBe(204);
  });

  it("refuses a bad rule with SES's error and changes nothing", async () => {
    await call('POST', '/receiving/rule-sets', { session: admin, body: { name: 'strict-set' } });
    await call('POST', '/receiving/rule-sets/strict-set/rules', { session: admin, body: { rule: { name: 'ok', recipients: ['inbound.test'] } } });
    const before = await v1Rules('strict-set');

    const noBucket = await call('POST', '/receiving/rule-sets/strict-set/rules', { session: admin, body: { rule: { name: 'bad', actions: [{ s3: { bucketName: 'no-such-bucket' } }] } } });
    expect(noBucket).toEqual({ status: 400, body: { code: 'InvalidS3Configuration', message: 'Could not write to bucket: no-such-bucket' } });
    const badRecipient = await call('POST', '/receiving/rule-sets/strict-set/rules', { session: admin, body: { rule: { name: 'bad', recipients: ['not an address@'] } } });
    expect(badRecipient.status).toBe(400);
    expect(badRecipient.body).toMatchObject({ code: 'InvalidParameterValue', message: expect.stringMatching(/^Invalid recipient: not an address@/) });
    const badName = await call('POST', '/receiving/rule-sets/strict-set/rules', { session: admin, body: { rule: { name: 'bad name', tlsPolicy: 'Sometimes' } } });
    expect(badName.body).toEqual({
      code: 'ValidationError',
      message:
        "2 validation errors detected: Value 'bad name' at 'rule.name' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9_.-]+$; Value 'Sometimes' at 'rule.tlsPolicy' failed to satisfy constraint: Member must satisfy enum value set: [Optional, Require]",
    });
    const badBounce = await call('POST', '/receiving/rule-sets/strict-set/rules', { session: admin, body: { rule: { name: 'bad', actions: [{ bounce: { sender: 'x@inbound.test', smtpReplyCode: '250', message: 'no' } }] } } });
    expect(badBounce.body).toEqual({ code: 'InvalidParameterValue', message: 'Invalid SMTP reply code: 250' });
    // An update that would break the rule leaves it as it was.
    const badUpdate = await call('PUT', '/receiving/rule-sets/strict-set/rules/ok', { session: admin, body: { rule: { name: 'ok', actions: [{ sns: { topicArn: 'arn:aws:sns:us-east-1:000000000000:nope' } }] } } });
    expect(badUpdate.status).toBe(400);
    expect(badUpdate.body.code).toBe('InvalidSnsTopic');
    // Types the JSON cannot give core are refused here.
    const wrongType = await call('POST', '/receiving/rule-sets/strict-set/rules', { session: admin, body: { rule: { name: 'bad', actions: [{ addHeader: { headerName: 'X-A', headerValue: 5 } }] } } });
    expect(wrongType.body).toEqual({ code: 'InvalidParameterValue', message: 'rule.actions[0].addHeader.headerValue must be a string.' });
    const unknownType = await call('POST', '/receiving/rule-sets/strict-set/rules', { session: admin, body: { rule: { name: 'bad', actions: [{ fax: {} }] } } });
    expect(unknownType.status).toBe(400);
    // A set that is not there; a set name SES refuses.
    expect(await call('GET', '/receiving/rule-sets/no-such-set', { session: admin })).toEqual({ status: 404, body: { code: 'RuleSetDoesNotExist', message: 'Rule set does not exist: no-such-set' } });
    expect((await call('POST', '/receiving/rule-sets', { session: admin, body: { name: '-dash' } })).body).toEqual({ code: 'InvalidParameterValue', message: 'Not a valid ruleSetName: -dash' });
    expect((await call('POST', '/receiving/rule-sets', { session: admin, body: { name: 'strict-set' } })).body).toEqual({ code: 'AlreadyExists', message: 'Rule set already exists: strict-set' });

    expect(await v1Rules('strict-set')).toEqual(before);
    expect((await ses.send(new ListReceiptRuleSetsCommand({}))).RuleSets?.map((s) => s.Name)).not.toContain('-dash');
  });

  it('lists, creates and deletes IP filters; refuses a bad CIDR', async () => {
    const made = await call('POST', '/receiving/filters', { session: admin, body: { name: 'office', cidr: '192.0.2.0/24', policy: 'Allow' } });
    expect(made).toEqual({ status: 200, body: { items: [{ name: 'office', policy: 'Allow', cidr: '192.0.2.0/24' }] } });
    expect((await ses.send(new ListReceiptFiltersCommand({}))).Filters).toEqual([{ Name: 'office', IpFilter: { Policy: 'Allow', Cidr: '192.0.2.0/24' } }]);
    const bad = await call('POST', '/receiving/filters', { session: admin, body: { name: 'broken', cidr: '300.1.1.1/8', policy: 'Block' } });
    expect(bad).toEqual({ status: 400, body: { code: 'InvalidParameterValue', message: 'Invalid CIDR block: 300.1.1.1/8' } });
    const badPolicy = await call('POST', '/receiving/filters', { session: admin, body: { name: 'broken', cidr: '10.0.0.0/8', policy: 'Maybe' } });
    expect(badPolicy.body.code).toBe('ValidationError');
    expect((await call('GET', '/receiving/filters', { session: admin })).body).toEqual({ items: [{ name: 'office', policy: 'Allow', cidr: '192.0.2.0/24' }] });
    expect((await call('DELETE', '/receiving/filters/office', { session: admin })).status).toBe(204);
    expect((await ses.send(new ListReceiptFiltersCommand({}))).Filters ?? []).toEqual([]);
  });

  it("refuses a key whose policy allows only ses:SendEmail with SES's AccessDenied, changing nothing", async () => {
    const sender = await keySession(server, { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['ses:SendEmail'], Resource: '*' }] }, 'send only');
    const list = await call('GET', '/receiving', { session: sender });
    expect(list).toMatchObject({ status: 403, body: { code: 'AccessDenied', message: expect.stringContaining('ses:ListReceiptRuleSets') } });
    const create = await call('POST', '/receiving/rule-sets', { session: sender, body: { name: 'sender-set' } });
    expect(create).toMatchObject({ status: 403, body: { code: 'AccessDenied', message: expect.stringContaining('ses:CreateReceiptRuleSet') } });
    const rule = await call('POST', '/receiving/rule-sets/strict-set/rules', { session: sender, body: { rule: { name: 'sneaky' } } });
    expect(rule).toMatchObject({ status: 403, body: { code: 'AccessDenied' } });
    expect((await call('PUT', '/receiving/active', { session: sender, body: { name: 'strict-set' } })).status).toBe(403);
    expect((await call('POST', '/receiving/filters', { session: sender, body: { name: 'sneaky', cidr: '10.0.0.0/8', policy: 'Block' } })).status).toBe(403);
    expect((await ses.send(new ListReceiptRuleSetsCommand({}))).RuleSets?.map((s) => s.Name)).not.toContain('sender-set');
    expect((await v1Rules('strict-set')).map((r) => r.Name)).not.toContain('sneaky');
    expect((await ses.send(new DescribeActiveReceiptRuleSetCommand({}))).Metadata).toBeUndefined();
    expect((await ses.send(new ListReceiptFiltersCommand({}))).Filters ?? []).toEqual([]);
  });
});
