/**
 * The 17 receipt operations of SES v1 — rule sets, rules, IP filters and SendBounce — driven by the
 * real @aws-sdk/client-ses against a running server: the shapes a v1 user gets back, rule order
 * under After / SetReceiptRulePosition / ReorderReceiptRuleSet, the active set as the MX engine reads
 * it, each refusal as the SDK's typed exception, and the DSN SendBounce delivers to the sink MTA.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CloneReceiptRuleSetCommand,
  CreateReceiptFilterCommand,
  CreateReceiptRuleCommand,
  CreateReceiptRuleSetCommand,
  DeleteReceiptFilterCommand,
  DeleteReceiptRuleCommand,
  DeleteReceiptRuleSetCommand,
  DescribeActiveReceiptRuleSetCommand,
  DescribeReceiptRuleCommand,
  DescribeReceiptRuleSetCommand,
  ListReceiptFiltersCommand,
  ListReceiptRuleSetsCommand,
  ReorderReceiptRuleSetCommand,
  SendBounceCommand,
  SendEmailCommand,
  SetActiveReceiptRuleSetCommand,
  SetReceiptRulePositionCommand,
  UpdateReceiptRuleCommand,
  type ReceiptAction,
  type ReceiptRule,
  type SESClient,
} from '@aws-sdk/client-ses';
import { CreateTopicCommand } from '@aws-sdk/client-sns';
import { simpleParser } from 'mailparser';
import { expectSdkError } from '../helpers/aws-wire.ts';
import { startSendingFixture, type SendingFixture } from '../helpers/fixtures.ts';
import { testBackends, type TestServer } from '../helpers/server.ts';
import type { SinkMta } from '../helpers/sink.ts';

const MESSAGE_ID = /^0100[0-9a-f]{12}-[0-9a-f-]{36}-000000$/;

describe.each(testBackends())('SES v1 receipt rules, filters and SendBounce (%s)', (backend) => {
  let fixture: SendingFixture;
  let server: TestServer;
  let sink: SinkMta;
  let ses: SESClient;
  let accountId: string;
  let region: string;
  let topicArn: string;
  let functionArn: string;

  beforeAll(async () => {
    // sender.test is verified and, like dest.test, routed to the sink (SendBounce's DSN goes back to it).
    fixture = await startSendingFixture({ backend, senders: ['sender.test'], destinations: ['dest.test', 'sender.test'] });
    ({ server, sink } = fixture);
    ses = server.ses();
    ({ accountId, region } = server.instance.config);
    topicArn = (await server.sns().send(new CreateTopicCommand({ Name: 'inbound' }))).TopicArn!;
    const now = Date.now();
    // The bucket API and the functions CLI are other capabilities: their rows are made directly.
    await server.instance.storage.buckets.create({ accountId, name: 'inbound-mail', data: {}, createdAt: now, updatedAt: now });
    await server.instance.storage.functions.create({ accountId, name: 'on-mail', data: { url: 'http://127.0.0.1:9/' }, createdAt: now, updatedAt: now });
    functionArn = `arn:aws:lambda:${region}:${accountId}:function:on-mail`;
  });
  afterAll(() => fixture?.close());

  const names = async (set: string) => ((await ses.send(new DescribeReceiptRuleSetCommand({ RuleSetName: set }))).Rules ?? []).map((r) => r.Name);
  const rule = (Name: string, extra: Partial<ReceiptRule> = {}): ReceiptRule => ({ Name, ...extra });

  describe('rule sets', () => {
    it('creates, lists, describes and deletes a rule set', async () => {
      const before = Date.now();
      await ses.send(new CreateReceiptRuleSetCommand({ RuleSetName: 'set-basic' }));
      await ses.send(new CreateReceiptRuleSetCommand({ RuleSetName: 'set.basic_2' }));

      const d = await ses.send(new DescribeReceiptRuleSetCommand({ RuleSetName: 'set-basic' }));
      expect(d.Metadata?.Name).toBe('set-basic');
      expect(d.Metadata?.CreatedTimestamp).toBeInstanceOf(Date);
      expect(Math.abs(d.Metadata!.CreatedTimestamp!.getTime() - before)).toBeLessThan(60_000);
      expect(d.Rules ?? []).toEqual([]);

      const listed = await ses.send(new ListReceiptRuleSetsCommand({}));
      expect(listed.RuleSets!.map((s) => s.Name)).toEqual(expect.arrayContaining(['set-basic', 'set.basic_2']));
      expect(listed.RuleSets!.every((s) => s.CreatedTimestamp instanceof Date)).toBe(true);
      expect(listed.NextToken).toBeUndefined();

      await expectSdkError(ses.send(new CreateReceiptRuleSetCommand({ RuleSetName: 'set-basic' })), 'AlreadyExistsException', 400, 'Rule set already exists: set-basic');

      await ses.send(new DeleteReceiptRuleSetCommand({ RuleSetName: 'set.basic_2' }));
      await expectSdkError(ses.send(new DescribeReceiptRuleSetCommand({ RuleSetName: 'set.basic_2' })), 'RuleSetDoesNotExistException', 400, 'Rule set does not exist: set.basic_2');
      // SES deletes idempotently: a set that is not there is no error.
      await ses.send(new DeleteReceiptRuleSetCommand({ RuleSetName: 'set.basic_2' }));
      await ses.send(new DeleteReceiptRuleSetCommand({ RuleSetName: 'set-basic' }));
    });

    it('refuses malformed rule set names as SES does', async () => {
      const e = await expectSdkError(ses.send(new CreateReceiptRuleSetCommand({ RuleSetName: 'bad name' })), 'ValidationError', 400);
      expect(e.message).toBe("1 validation error detected: Value 'bad name' at 'ruleSetName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9_.-]+$");
      await expectSdkError(ses.send(new CreateReceiptRuleSetCommand({ RuleSetName: '-starts-with-dash' })), 'InvalidParameterValue', 400, 'Not a valid ruleSetName: -starts-with-dash');
      await expectSdkError(ses.send(new CreateReceiptRuleSetCommand({ RuleSetName: 'ends.' })), 'InvalidParameterValue', 400, 'Not a valid ruleSetName: ends.');
      await expectSdkError(ses.send(new CreateReceiptRuleSetCommand({ RuleSetName: 'a'.repeat(65) })), 'InvalidParameterValue', 400, `Not a valid ruleSetName: ${'a'.repeat(65)}`);
      await ses.send(new CreateReceiptRuleSetCommand({ RuleSetName: 'a'.repeat(64) }));
      await ses.send(new DeleteReceiptRuleSetCommand({ RuleSetName: 'a'.repeat(64) }));
      await expectSdkError(ses.send(new CreateReceiptRuleSetCommand({} as { RuleSetName: string })), 'ValidationError', 400, /Value null at 'ruleSetName'/);
    });

    it('allows at most 40 rule sets (LimitExceeded)', async () => {
      const existing = (await ses.send(new ListReceiptRuleSetsCommand({}))).RuleSets?.length ?? 0;
      const made: string[] = [];
      for (let i = existing; i < 40; i++) {
        made.push(`limit-${i}`);
        await ses.send(new CreateReceiptRuleSetCommand({ RuleSetName: `limit-${i}` }));
      }
      await expectSdkError(ses.send(new CreateReceiptRuleSetCommand({ RuleSetName: 'one-too-many' })), 'LimitExceededException', 400, 'Too many rule sets');
      await expectSdkError(ses.send(new CloneReceiptRuleSetCommand({ RuleSetName: 'one-too-many', OriginalRuleSetName: made[0]! })), 'LimitExceededException', 400);
      // Listing pages through them all.
      const all = (await ses.send(new ListReceiptRuleSetsCommand({}))).RuleSets!.map((s) => s.Name);
      expect(all).toHaveLength(40);
      expect(all).toEqual([...all].sort());
      for (const n of made) await ses.send(new DeleteReceiptRuleSetCommand({ RuleSetName: n }));
    });
  });

  describe('rules', () => {
    beforeAll(async () => {
      await ses.send(new CreateReceiptRuleSetCommand({ RuleSetName: 'ordering' }));
    });

    it('orders rules with After, SetReceiptRulePosition and ReorderReceiptRuleSet', async () => {
      // Without After a rule goes first, as SES inserts it.
      await ses.send(new CreateReceiptRuleCommand({ RuleSetName: 'ordering', Rule: rule('r1') }));
      await ses.send(new CreateReceiptRuleCommand({ RuleSetName: 'ordering', Rule: rule('r2') }));
      expect(await names('ordering')).toEqual(['r2', 'r1']);
      await ses.send(new CreateReceiptRuleCommand({ RuleSetName: 'ordering', After: 'r2', Rule: rule('r3') }));
      expect(await names('ordering')).toEqual(['r2', 'r3', 'r1']);
      await ses.send(new CreateReceiptRuleCommand({ RuleSetName: 'ordering', After: 'r1', Rule: rule('r4') }));
      expect(await names('ordering')).toEqual(['r2', 'r3', 'r1', 'r4']);

      await ses.send(new SetReceiptRulePositionCommand({ RuleSetName: 'ordering', RuleName: 'r1' }));
      expect(await names('ordering')).toEqual(['r1', 'r2', 'r3', 'r4']);
      await ses.send(new SetReceiptRulePositionCommand({ RuleSetName: 'ordering', RuleName: 'r1', After: 'r3' }));
      expect(await names('ordering')).toEqual(['r2', 'r3', 'r1', 'r4']);
      await ses.send(new SetReceiptRulePositionCommand({ RuleSetName: 'ordering', RuleName: 'r2', After: 'r4' }));
      expect(await names('ordering')).toEqual(['r3', 'r1', 'r4', 'r2']);
      // After itself: nothing moves (SES answers 200).
      await ses.send(new SetReceiptRulePositionCommand({ RuleSetName: 'ordering', RuleName: 'r4', After: 'r4' }));
      expect(await names('ordering')).toEqual(['r3', 'r1', 'r4', 'r2']);

      await ses.send(new ReorderReceiptRuleSetCommand({ RuleSetName: 'ordering', RuleNames: ['r4', 'r3', 'r2', 'r1'] }));
      expect(await names('ordering')).toEqual(['r4', 'r3', 'r2', 'r1']);

      await expectSdkError(ses.send(new ReorderReceiptRuleSetCommand({ RuleSetName: 'ordering', RuleNames: ['r4', 'r3', 'r2'] })), 'InvalidParameterValue', 400, /missing: r1/);
      await expectSdkError(ses.send(new ReorderReceiptRuleSetCommand({ RuleSetName: 'ordering', RuleNames: ['r4', 'r3', 'r2', 'r1', 'r1'] })), 'InvalidParameterValue', 400, /r1 more than once/);
      await expectSdkError(ses.send(new ReorderReceiptRuleSetCommand({ RuleSetName: 'ordering', RuleNames: ['r4', 'r3', 'r2', 'nope'] })), 'RuleDoesNotExistException', 400, 'Rule does not exist: nope');
      await expectSdkError(ses.send(new ReorderReceiptRuleSetCommand({ RuleSetName: 'no-such-set', RuleNames: [] })), 'RuleSetDoesNotExistException', 400);
      await expectSdkError(ses.send(new SetReceiptRulePositionCommand({ RuleSetName: 'ordering', RuleName: 'r1', After: 'nope' })), 'RuleDoesNotExistException', 400, 'Rule does not exist: nope');
      await expectSdkError(ses.send(new SetReceiptRulePositionCommand({ RuleSetName: 'ordering', RuleName: 'nope' })), 'RuleDoesNotExistException', 400);
      await expectSdkError(ses.send(new CreateReceiptRuleCommand({ RuleSetName: 'ordering', After: 'nope', Rule: rule('r5') })), 'RuleDoesNotExistException', 400, 'Rule does not exist: nope');
      await expectSdkError(ses.send(new CreateReceiptRuleCommand({ RuleSetName: 'ordering', Rule: rule('r1') })), 'AlreadyExistsException', 400, 'Rule already exists: r1');
      await expectSdkError(ses.send(new CreateReceiptRuleCommand({ RuleSetName: 'no-such-set', Rule: rule('r1') })), 'RuleSetDoesNotExistException', 400, 'Rule set does not exist: no-such-set');
      // Nothing of the refused requests was kept.
      expect(await names('ordering')).toEqual(['r4', 'r3', 'r2', 'r1']);
    });

    it('loses no change when requests change one rule set at the same time', async () => {
      await ses.send(new CreateReceiptRuleSetCommand({ RuleSetName: 'busy' }));
      const many = Array.from({ length: 10 }, (_, i) => `busy-${i}`);
      await Promise.all(many.map((n) => ses.send(new CreateReceiptRuleCommand({ RuleSetName: 'busy', Rule: rule(n) }))));
      expect((await names('busy')).sort()).toEqual([...many].sort());
      await Promise.all(many.slice(0, 5).map((n) => ses.send(new DeleteReceiptRuleCommand({ RuleSetName: 'busy', RuleName: n }))));
      expect((await names('busy')).sort()).toEqual(many.slice(5).sort());
      await ses.send(new DeleteReceiptRuleSetCommand({ RuleSetName: 'busy' }));
    });

    it('stores every action type and returns the rule as SES describes it, defaults filled in', async () => {
      const actions: ReceiptAction[] = [
        { AddHeaderAction: { HeaderName: 'X-Sesame-Rule', HeaderValue: 'full' } },
        { S3Action: { BucketName: 'inbound-mail', ObjectKeyPrefix: 'mail/', TopicArn: topicArn } },
        { SNSAction: { TopicArn: topicArn } },
        { LambdaAction: { FunctionArn: functionArn, InvocationType: 'RequestResponse' } },
        { BounceAction: { SmtpReplyCode: '550', StatusCode: '5.1.1', Message: 'Mailbox does not exist', Sender: 'mailer-daemon@sender.test', TopicArn: topicArn } },
        { StopAction: { Scope: 'RuleSet', TopicArn: topicArn } },
      ];
      await ses.send(
        new CreateReceiptRuleCommand({
          RuleSetName: 'ordering',
          After: 'r1',
          Rule: { Name: 'full', Enabled: true, TlsPolicy: 'Require', Recipients: ['info@sender.test', 'sender.test', '.sender.test'], Actions: actions, ScanEnabled: true },
        }),
      );
      const got = (await ses.send(new DescribeReceiptRuleCommand({ RuleSetName: 'ordering', RuleName: 'full' }))).Rule;
      expect(got).toEqual({
        Name: 'full',
        Enabled: true,
        TlsPolicy: 'Require',
        Recipients: ['info@sender.test', 'sender.test', '.sender.test'],
        Actions: [
          actions[0],
          actions[1],
          // SES stores the defaults: UTF-8 encoding, Event invocation.
          { SNSAction: { TopicArn: topicArn, Encoding: 'UTF-8' } },
          actions[3],
          actions[4],
          actions[5],
        ],
        ScanEnabled: true,
      });

      // A bare rule: disabled, TLS optional, no scanning, no recipients or actions.
      await ses.send(new CreateReceiptRuleCommand({ RuleSetName: 'ordering', Rule: { Name: 'bare', Actions: [{ LambdaAction: { FunctionArn: functionArn } }] } }));
      const bare = (await ses.send(new DescribeReceiptRuleCommand({ RuleSetName: 'ordering', RuleName: 'bare' }))).Rule;
      expect(bare).toEqual({ Name: 'bare', Enabled: false, TlsPolicy: 'Optional', ScanEnabled: false, Actions: [{ LambdaAction: { FunctionArn: functionArn, InvocationType: 'Event' } }] });

      // The same rules come back, in order, from DescribeReceiptRuleSet.
      const set = await ses.send(new DescribeReceiptRuleSetCommand({ RuleSetName: 'ordering' }));
      expect(set.Rules!.map((r) => r.Name)).toEqual(['bare', 'r4', 'r3', 'r2', 'r1', 'full']);
      expect(set.Rules![5]).toEqual(got);

      await expectSdkError(ses.send(new DescribeReceiptRuleCommand({ RuleSetName: 'ordering', RuleName: 'nope' })), 'RuleDoesNotExistException', 400, 'Rule does not exist: nope');
      await expectSdkError(ses.send(new DescribeReceiptRuleCommand({ RuleSetName: 'no-such-set', RuleName: 'full' })), 'RuleSetDoesNotExistException', 400);
    });

    it('updates a rule as a whole in its place, and deletes rules idempotently', async () => {
      await ses.send(new UpdateReceiptRuleCommand({ RuleSetName: 'ordering', Rule: { Name: 'r3', Enabled: true, Recipients: ['Support@Sender.TEST'], Actions: [{ StopAction: { Scope: 'RuleSet' } }] } }));
      const r3 = (await ses.send(new DescribeReceiptRuleCommand({ RuleSetName: 'ordering', RuleName: 'r3' }))).Rule;
      // Domain parts are stored lower-case, the local part as given.
      expect(r3).toEqual({ Name: 'r3', Enabled: true, TlsPolicy: 'Optional', ScanEnabled: false, Recipients: ['Support@sender.test'], Actions: [{ StopAction: { Scope: 'RuleSet' } }] });
      // Members left out take their defaults again.
      await ses.send(new UpdateReceiptRuleCommand({ RuleSetName: 'ordering', Rule: { Name: 'r3' } }));
      expect((await ses.send(new DescribeReceiptRuleCommand({ RuleSetName: 'ordering', RuleName: 'r3' }))).Rule).toEqual({ Name: 'r3', Enabled: false, TlsPolicy: 'Optional', ScanEnabled: false });
      expect(await names('ordering')).toEqual(['bare', 'r4', 'r3', 'r2', 'r1', 'full']);
      await expectSdkError(ses.send(new UpdateReceiptRuleCommand({ RuleSetName: 'ordering', Rule: { Name: 'nope' } })), 'RuleDoesNotExistException', 400, 'Rule does not exist: nope');
      await expectSdkError(ses.send(new UpdateReceiptRuleCommand({ RuleSetName: 'no-such-set', Rule: { Name: 'r3' } })), 'RuleSetDoesNotExistException', 400);

      await ses.send(new DeleteReceiptRuleCommand({ RuleSetName: 'ordering', RuleName: 'bare' }));
      await ses.send(new DeleteReceiptRuleCommand({ RuleSetName: 'ordering', RuleName: 'bare' }));
      expect(await names('ordering')).toEqual(['r4', 'r3', 'r2', 'r1', 'full']);
      await expectSdkError(ses.send(new DeleteReceiptRuleCommand({ RuleSetName: 'no-such-set', RuleName: 'bare' })), 'RuleSetDoesNotExistException', 400);
    });

    it('clones a rule set into an independent copy', async () => {
      await ses.send(new CloneReceiptRuleSetCommand({ RuleSetName: 'ordering-copy', OriginalRuleSetName: 'ordering' }));
      const original = await ses.send(new DescribeReceiptRuleSetCommand({ RuleSetName: 'ordering' }));
      const copy = await ses.send(new DescribeReceiptRuleSetCommand({ RuleSetName: 'ordering-copy' }));
      expect(copy.Metadata?.Name).toBe('ordering-copy');
      expect(copy.Rules).toEqual(original.Rules);
      await ses.send(new DeleteReceiptRuleCommand({ RuleSetName: 'ordering-copy', RuleName: 'full' }));
      expect(await names('ordering')).toContain('full');
      expect(await names('ordering-copy')).not.toContain('full');

      await expectSdkError(ses.send(new CloneReceiptRuleSetCommand({ RuleSetName: 'x-copy', OriginalRuleSetName: 'no-such-set' })), 'RuleSetDoesNotExistException', 400, 'Rule set does not exist: no-such-set');
      await expectSdkError(ses.send(new CloneReceiptRuleSetCommand({ RuleSetName: 'ordering-copy', OriginalRuleSetName: 'ordering' })), 'AlreadyExistsException', 400, 'Rule set already exists: ordering-copy');
      await ses.send(new DeleteReceiptRuleSetCommand({ RuleSetName: 'ordering-copy' }));
    });

    it('refuses what SES refuses in a rule, and keeps nothing of it', async () => {
      const refused = async (r: ReceiptRule, name: string, message: string | RegExp) => {
        await expectSdkError(ses.send(new CreateReceiptRuleCommand({ RuleSetName: 'ordering', Rule: r })), name, 400, message);
      };
      const bad = (a: ReceiptAction) => ({ Name: 'bad', Actions: [a] });
      const topic = (n: string) => `arn:aws:sns:${region}:${accountId}:${n}`;

      await refused(rule('bad rule'), 'ValidationError', "1 validation error detected: Value 'bad rule' at 'rule.name' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9_.-]+$");
      await refused(rule('bad-'), 'InvalidParameterValue', 'Not a valid ruleName: bad-');
      await refused(rule('x'.repeat(65)), 'InvalidParameterValue', /^Not a valid ruleName/);
      await refused({ Name: 'bad', TlsPolicy: 'Sometimes' as 'Require' }, 'ValidationError', /Value 'Sometimes' at 'rule.tlsPolicy' failed to satisfy constraint: Member must satisfy enum value set: \[Optional, Require\]/);
      // Smithy's violations are collected into one error, with SES's member paths.
      const e = await expectSdkError(
        ses.send(new CreateReceiptRuleCommand({ RuleSetName: 'ordering', Rule: { Name: 'bad', Actions: [{ SNSAction: { Encoding: 'UTF-16' } as never }, { BounceAction: { SmtpReplyCode: '550' } as never }] } })),
        'ValidationError',
        400,
      );
      expect(e.message).toMatch(/^4 validation errors detected: /);
      expect(e.message).toContain("Value 'UTF-16' at 'rule.actions.1.member.sNSAction.encoding' failed to satisfy constraint: Member must satisfy enum value set: [Base64, UTF-8]");
      expect(e.message).toContain("Value null at 'rule.actions.1.member.sNSAction.topicArn' failed to satisfy constraint: Member must not be null");
      expect(e.message).toContain("Value null at 'rule.actions.2.member.bounceAction.sender'");
      expect(e.message).toContain("Value null at 'rule.actions.2.member.bounceAction.message'");

      await refused(bad({ SNSAction: { TopicArn: 'not-an-arn' } }), 'InvalidSnsTopicException', 'Invalid SNS topic: not-an-arn');
      await refused(bad({ SNSAction: { TopicArn: topic('missing') } }), 'InvalidSnsTopicException', `Could not publish to SNS topic: ${topic('missing')}`);
      await refused(bad({ SNSAction: { TopicArn: `arn:aws:sns:${region}:111122223333:inbound` } }), 'InvalidSnsTopicException', /Could not publish to SNS topic/);
      await refused(bad({ StopAction: { Scope: 'RuleSet', TopicArn: topic('missing') } }), 'InvalidSnsTopicException', /Could not publish/);
      await refused(bad({ S3Action: { BucketName: 'no-such-bucket' } }), 'InvalidS3ConfigurationException', 'Could not write to bucket: no-such-bucket');
      await refused(bad({ S3Action: { BucketName: 'inbound-mail', TopicArn: topic('missing') } }), 'InvalidSnsTopicException', /Could not publish/);
      await refused(bad({ S3Action: { BucketName: 'inbound-mail', KmsKeyArn: 'bogus' } }), 'InvalidS3ConfigurationException', 'Unable to use AWS KMS key: bogus');
      await refused(bad({ LambdaAction: { FunctionArn: 'on-mail' } }), 'InvalidLambdaFunctionException', 'Invalid Lambda function: on-mail');
      const missingFn = `arn:aws:lambda:${region}:${accountId}:function:not-registered`;
      await refused(bad({ LambdaAction: { FunctionArn: missingFn } }), 'InvalidLambdaFunctionException', `Could not invoke Lambda function: ${missingFn}`);
      await refused(bad({ AddHeaderAction: { HeaderName: 'X_Bad', HeaderValue: 'v' } }), 'InvalidParameterValue', 'Invalid header name: X_Bad');
      await refused(bad({ AddHeaderAction: { HeaderName: 'X-Long', HeaderValue: 'v'.repeat(2049) } }), 'InvalidParameterValue', /Invalid header value for X-Long/);
      await refused(bad({ BounceAction: { SmtpReplyCode: '250', Message: 'm', Sender: 'mailer-daemon@sender.test' } }), 'InvalidParameterValue', 'Invalid SMTP reply code: 250');
      await refused(bad({ BounceAction: { SmtpReplyCode: '550', StatusCode: '4.0.0', Message: 'm', Sender: 'mailer-daemon@sender.test' } }), 'InvalidParameterValue', 'Invalid SMTP status code: 4.0.0');
      await refused(bad({ BounceAction: { SmtpReplyCode: '550', Message: 'm', Sender: 'someone@unverified.test' } }), 'InvalidParameterValue', 'Identity is not verified: someone@unverified.test');
      await refused(bad({ WorkmailAction: { OrganizationArn: 'arn:aws:workmail:us-east-1:111122223333:organization/m-1' } }), 'InvalidParameterValue', /WorkmailAction is not supported/);
      await refused(bad({ ConnectAction: { InstanceARN: 'arn:aws:connect:us-east-1:111122223333:instance/i', IAMRoleARN: 'arn:aws:iam::111122223333:role/r' } }), 'InvalidParameterValue', /ConnectAction is not supported/);
      await refused(bad({ SNSAction: { TopicArn: topicArn }, StopAction: { Scope: 'RuleSet' } }), 'InvalidParameterValue', /exactly one of/);
      await refused({ Name: 'bad', Recipients: ['not an address@'] }, 'InvalidParameterValue', /^Invalid recipient: not an address@/);
      await refused({ Name: 'bad', Recipients: ['-bad-.example'] }, 'InvalidParameterValue', /^Invalid recipient/);

      await refused({ Name: 'bad', Actions: Array.from({ length: 11 }, () => ({ StopAction: { Scope: 'RuleSet' } }) as ReceiptAction) }, 'LimitExceededException', 'Too many actions');
      await refused({ Name: 'bad', Recipients: Array.from({ length: 101 }, (_, i) => `user${i}@sender.test`) }, 'LimitExceededException', 'Too many recipients');
      await ses.send(new CreateReceiptRuleCommand({ RuleSetName: 'ordering', Rule: { Name: 'at-limits', Recipients: Array.from({ length: 100 }, (_, i) => `user${i}@sender.test`), Actions: Array.from({ length: 10 }, () => ({ StopAction: { Scope: 'RuleSet' } }) as ReceiptAction) } }));
      await ses.send(new DeleteReceiptRuleCommand({ RuleSetName: 'ordering', RuleName: 'at-limits' }));

      expect(await names('ordering')).not.toContain('bad');
      // UpdateReceiptRule checks the same way.
      await expectSdkError(ses.send(new UpdateReceiptRuleCommand({ RuleSetName: 'ordering', Rule: bad({ S3Action: { BucketName: 'no-such-bucket' } }) })), 'RuleDoesNotExistException', 400);
      await expectSdkError(ses.send(new UpdateReceiptRuleCommand({ RuleSetName: 'ordering', Rule: { Name: 'r1', Actions: [{ S3Action: { BucketName: 'no-such-bucket' } }] } })), 'InvalidS3ConfigurationException', 400);
      expect((await ses.send(new DescribeReceiptRuleCommand({ RuleSetName: 'ordering', RuleName: 'r1' }))).Rule?.Actions).toBeUndefined();
    });

    it('holds at most 200 rules in a set (LimitExceeded)', async () => {
      await ses.send(new CreateReceiptRuleSetCommand({ RuleSetName: 'crowded' }));
      for (let i = 0; i < 200; i++) await ses.send(new CreateReceiptRuleCommand({ RuleSetName: 'crowded', Rule: rule(`rule-${i}`) }));
      await expectSdkError(ses.send(new CreateReceiptRuleCommand({ RuleSetName: 'crowded', Rule: rule('rule-200') })), 'LimitExceededException', 400, 'Too many rules');
      expect(await names('crowded')).toHaveLength(200);
      await ses.send(new DeleteReceiptRuleSetCommand({ RuleSetName: 'crowded' }));
    });
  });

  describe('the active rule set', () => {
    it('activates, describes, protects from deletion and deactivates a rule set', async () => {
      const core = server.instance.core.receiptRules;
      const none = await ses.send(new DescribeActiveReceiptRuleSetCommand({}));
      expect(none.Metadata).toBeUndefined();
      expect(none.Rules).toBeUndefined();
      expect(await core.activeRuleSet(accountId)).toBeUndefined();

      await ses.send(new CreateReceiptRuleSetCommand({ RuleSetName: 'live' }));
      await ses.send(new CreateReceiptRuleCommand({ RuleSetName: 'live', Rule: { Name: 'store', Enabled: true, Recipients: ['sender.test'], Actions: [{ S3Action: { BucketName: 'inbound-mail' } }] } }));
      await ses.send(new CreateReceiptRuleCommand({ RuleSetName: 'live', After: 'store', Rule: { Name: 'notify', Enabled: true, Actions: [{ SNSAction: { TopicArn: topicArn, Encoding: 'Base64' } }] } }));
      await ses.send(new SetActiveReceiptRuleSetCommand({ RuleSetName: 'live' }));

      const active = await ses.send(new DescribeActiveReceiptRuleSetCommand({}));
      expect(active.Metadata?.Name).toBe('live');
      expect(active.Metadata?.CreatedTimestamp).toBeInstanceOf(Date);
      expect(active.Rules?.map((r) => r.Name)).toEqual(['store', 'notify']);
      // What the MX engine reads: the same rules in core's model.
      expect(await core.activeRuleSet(accountId)).toEqual({
        name: 'live',
        rules: [
          { name: 'store', enabled: true, tlsPolicy: 'Optional', recipients: ['sender.test'], actions: [{ s3: { bucketName: 'inbound-mail' } }], scanEnabled: false },
          { name: 'notify', enabled: true, tlsPolicy: 'Optional', recipients: [], actions: [{ sns: { topicArn, encoding: 'Base64' } }], scanEnabled: false },
        ],
      });

      await expectSdkError(ses.send(new DeleteReceiptRuleSetCommand({ RuleSetName: 'live' })), 'CannotDeleteException', 400, 'Cannot delete active rule set: live');
      await expectSdkError(ses.send(new SetActiveReceiptRuleSetCommand({ RuleSetName: 'no-such-set' })), 'RuleSetDoesNotExistException', 400);
      expect((await ses.send(new DescribeActiveReceiptRuleSetCommand({}))).Metadata?.Name).toBe('live');

      // Another set takes over; then none.
      await ses.send(new CreateReceiptRuleSetCommand({ RuleSetName: 'standby' }));
      await ses.send(new SetActiveReceiptRuleSetCommand({ RuleSetName: 'standby' }));
      expect((await ses.send(new DescribeActiveReceiptRuleSetCommand({}))).Metadata?.Name).toBe('standby');
      await ses.send(new DeleteReceiptRuleSetCommand({ RuleSetName: 'live' }));
      await ses.send(new SetActiveReceiptRuleSetCommand({}));
      expect((await ses.send(new DescribeActiveReceiptRuleSetCommand({}))).Metadata).toBeUndefined();
      expect(await core.activeRuleSet(accountId)).toBeUndefined();
      await ses.send(new DeleteReceiptRuleSetCommand({ RuleSetName: 'standby' }));
    });
  });

  describe('IP filters', () => {
    it('creates, lists and deletes filters of IPv4 and IPv6 addresses and ranges', async () => {
      await ses.send(new CreateReceiptFilterCommand({ Filter: { Name: 'block-net10', IpFilter: { Policy: 'Block', Cidr: '10.0.0.0/8' } } }));
      await ses.send(new CreateReceiptFilterCommand({ Filter: { Name: 'allow-partner', IpFilter: { Policy: 'Allow', Cidr: '10.1.2.3' } } }));
      await ses.send(new CreateReceiptFilterCommand({ Filter: { Name: 'block-v6', IpFilter: { Policy: 'Block', Cidr: '2001:db8::/32' } } }));
      await ses.send(new CreateReceiptFilterCommand({ Filter: { Name: 'host.v6', IpFilter: { Policy: 'Block', Cidr: '2001:db8::1' } } }));

      const listed = await ses.send(new ListReceiptFiltersCommand({}));
      expect(listed.Filters).toEqual([
        { Name: 'allow-partner', IpFilter: { Policy: 'Allow', Cidr: '10.1.2.3' } },
        { Name: 'block-net10', IpFilter: { Policy: 'Block', Cidr: '10.0.0.0/8' } },
        { Name: 'block-v6', IpFilter: { Policy: 'Block', Cidr: '2001:db8::/32' } },
        { Name: 'host.v6', IpFilter: { Policy: 'Block', Cidr: '2001:db8::1' } },
      ]);
      expect(await server.instance.core.receiptRules.filters(accountId)).toEqual([
        { name: 'allow-partner', policy: 'Allow', cidr: '10.1.2.3' },
        { name: 'block-net10', policy: 'Block', cidr: '10.0.0.0/8' },
        { name: 'block-v6', policy: 'Block', cidr: '2001:db8::/32' },
        { name: 'host.v6', policy: 'Block', cidr: '2001:db8::1' },
      ]);

      await expectSdkError(ses.send(new CreateReceiptFilterCommand({ Filter: { Name: 'block-net10', IpFilter: { Policy: 'Allow', Cidr: '10.9.9.9' } } })), 'AlreadyExistsException', 400, 'Filter already exists: block-net10');
      for (const cidr of ['not-a-cidr', '10.0.0.0/33', '300.1.1.1', '2001:db8::/129', 'fe80::1%eth0', '::ffff:10.0.0.1', '10.0.0.0/', '']) {
        await expectSdkError(ses.send(new CreateReceiptFilterCommand({ Filter: { Name: 'bad-cidr', IpFilter: { Policy: 'Block', Cidr: cidr } } })), 'InvalidParameterValue', 400, `Invalid CIDR block: ${cidr}`);
      }
      await expectSdkError(ses.send(new CreateReceiptFilterCommand({ Filter: { Name: 'bad-policy', IpFilter: { Policy: 'Maybe' as 'Block', Cidr: '10.0.0.1' } } })), 'ValidationError', 400, /Value 'Maybe' at 'filter.ipFilter.policy' failed to satisfy constraint: Member must satisfy enum value set: \[Allow, Block\]/);
      await expectSdkError(ses.send(new CreateReceiptFilterCommand({ Filter: { Name: 'no-filter' } as never })), 'ValidationError', 400, /Value null at 'filter.ipFilter'/);
      for (const name of ['bad name', '-dash', 'x'.repeat(65)]) {
        await expectSdkError(ses.send(new CreateReceiptFilterCommand({ Filter: { Name: name, IpFilter: { Policy: 'Block', Cidr: '10.0.0.1' } } })), 'InvalidParameterValue', 400, `Not a valid filterName: ${name}`);
      }

      await ses.send(new DeleteReceiptFilterCommand({ FilterName: 'block-v6' }));
      await ses.send(new DeleteReceiptFilterCommand({ FilterName: 'block-v6' }));
      expect((await ses.send(new ListReceiptFiltersCommand({}))).Filters?.map((f) => f.Name)).toEqual(['allow-partner', 'block-net10', 'host.v6']);
    });

    it('allows at most 100 filters (LimitExceeded)', async () => {
      const existing = (await ses.send(new ListReceiptFiltersCommand({}))).Filters?.length ?? 0;
      const made: string[] = [];
      for (let i = existing; i < 100; i++) made.push(`limit-${i}`);
      // Filters are rows of their own: they can be made side by side, ten at a time.
      for (let i = 0; i < made.length; i += 10) {
        await Promise.all(made.slice(i, i + 10).map((n, j) => ses.send(new CreateReceiptFilterCommand({ Filter: { Name: n, IpFilter: { Policy: 'Block', Cidr: `192.0.2.${i + j}` } } }))));
      }
      await expectSdkError(ses.send(new CreateReceiptFilterCommand({ Filter: { Name: 'one-too-many', IpFilter: { Policy: 'Block', Cidr: '198.51.100.1' } } })), 'LimitExceededException', 400, 'Too many filters');
      expect((await ses.send(new ListReceiptFiltersCommand({}))).Filters).toHaveLength(100);
      await Promise.all(made.map((n) => ses.send(new DeleteReceiptFilterCommand({ FilterName: n }))));
    });
  });

  describe('authorization', () => {
    it('checks the key policy on the rule set, rule and filter ARNs', async () => {
      const key = await server.instance.core.accounts.createKey({
        description: 'receipt read-only',
        policy: { Statement: [{ Effect: 'Allow', Action: ['ses:Describe*', 'ses:List*'], Resource: '*' }] },
      });
      const readOnly = server.ses({ accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey });
      await readOnly.send(new ListReceiptRuleSetsCommand({}));
      await readOnly.send(new ListReceiptFiltersCommand({}));
      await readOnly.send(new DescribeActiveReceiptRuleSetCommand({}));
      const base = `arn:aws:ses:${region}:${accountId}`;
      const e1 = await expectSdkError(readOnly.send(new CreateReceiptRuleSetCommand({ RuleSetName: 'denied' })), 'AccessDenied', 403);
      expect(e1.message).toContain(`ses:CreateReceiptRuleSet on resource: ${base}:receipt-rule-set/denied`);
      const e2 = await expectSdkError(readOnly.send(new CreateReceiptRuleCommand({ RuleSetName: 'ordering', Rule: rule('denied') })), 'AccessDenied', 403);
      expect(e2.message).toContain(`ses:CreateReceiptRule on resource: ${base}:receipt-rule-set/ordering:receipt-rule/denied`);
      const e3 = await expectSdkError(readOnly.send(new CreateReceiptFilterCommand({ Filter: { Name: 'denied', IpFilter: { Policy: 'Block', Cidr: '10.0.0.1' } } })), 'AccessDenied', 403);
      expect(e3.message).toContain(`ses:CreateReceiptFilter on resource: ${base}:receipt-filter/denied`);
      await expectSdkError(readOnly.send(new SetActiveReceiptRuleSetCommand({})), 'AccessDenied', 403, /ses:SetActiveReceiptRuleSet/);
      await expectSdkError(readOnly.send(new SendBounceCommand({ OriginalMessageId: 'x', BounceSender: 'mailer-daemon@sender.test', BouncedRecipientInfoList: [{ Recipient: 'a@sender.test', BounceType: 'DoesNotExist' }] })), 'AccessDenied', 403, /ses:SendBounce/);
      expect((await ses.send(new ListReceiptRuleSetsCommand({}))).RuleSets?.map((s) => s.Name)).not.toContain('denied');
    });
  });

  describe('SendBounce', () => {
    const bounce = (over: Partial<ConstructorParameters<typeof SendBounceCommand>[0]> = {}) =>
      new SendBounceCommand({
        OriginalMessageId: '0100018f00000000-00000000-0000-0000-0000-000000000000-000000',
        BounceSender: 'Mail Delivery Subsystem <mailer-daemon@sender.test>',
        BouncedRecipientInfoList: [{ Recipient: 'bob@dest.test', BounceType: 'DoesNotExist' }],
        ...over,
      });

    it('refuses a message Sesame does not know, and a sender that is not verified (MessageRejected)', async () => {
      await expectSdkError(ses.send(bounce()), 'MessageRejected', 400, /^Message 0100018f00000000-00000000-0000-0000-0000-000000000000-000000 was not found/);
      await expectSdkError(ses.send(bounce({ BounceSender: 'postmaster@unverified.test' })), 'MessageRejected', 400, /Email address is not verified.*postmaster@unverified\.test/);
      await expectSdkError(ses.send(bounce({ BounceSender: 'not an address' })), 'InvalidParameterValue', 400, /Illegal address in BounceSender/);
      await expectSdkError(ses.send(bounce({ BouncedRecipientInfoList: [{ Recipient: 'bob@dest.test' }] })), 'InvalidParameterValue', 400, /needs a BounceType or RecipientDsnFields/);
      await expectSdkError(ses.send(bounce({ BouncedRecipientInfoList: [{ Recipient: 'bob@dest.test', BounceType: 'Gone' as 'DoesNotExist' }] })), 'ValidationError', 400, /bouncedRecipientInfoList.1.member.bounceType/);
      await expectSdkError(
        ses.send(bounce({ BouncedRecipientInfoList: [{ Recipient: 'bob@dest.test', RecipientDsnFields: { Action: 'failed', Status: '5.9' } }] })),
        'InvalidParameterValue',
        400,
        /Invalid status code: 5\.9/,
      );
    });

    it('sends an RFC 3464 DSN to the sender of the original message, from the verified BounceSender', async () => {
      const sent = await ses.send(
        new SendEmailCommand({ Source: 'Ann <ann@sender.test>', Destination: { ToAddresses: ['bob@dest.test', 'carol@dest.test'] }, Message: { Subject: { Data: 'Order 42' }, Body: { Text: { Data: 'hello' } } } }),
      );
      const originalId = sent.MessageId!;
      await sink.waitFor((msgs) => msgs.some((m) => m.rcptTo.includes('bob@dest.test')));
      const before = sink.messages.length;

      // Only recipients of the original can be bounced.
      await expectSdkError(ses.send(bounce({ OriginalMessageId: originalId, BouncedRecipientInfoList: [{ Recipient: 'mallory@dest.test', BounceType: 'DoesNotExist' }] })), 'MessageRejected', 400, /not a recipient of message/);

      const out = await ses.send(
        bounce({
          OriginalMessageId: originalId,
          Explanation: 'Bob left the company.',
          MessageDsn: { ReportingMta: 'dns; inbound.sender.test', ArrivalDate: new Date('2026-01-02T03:00:00Z'), ExtensionFields: [{ Name: 'X-Case', Value: '17' }] },
          BouncedRecipientInfoList: [
            { Recipient: 'bob@dest.test', BounceType: 'DoesNotExist' },
            { Recipient: 'carol@dest.test', RecipientDsnFields: { Action: 'delayed', Status: '4.2.2', DiagnosticCode: 'smtp; 452 4.2.2 Mailbox full', RemoteMta: 'dns; mx.dest.test' } },
          ],
        }),
      );
      expect(out.MessageId).toMatch(MESSAGE_ID);
      expect(out.MessageId).not.toBe(originalId);

      await sink.waitFor((msgs) => msgs.some((m) => m.rcptTo.includes('ann@sender.test')), 15_000, 'the DSN');
      const dsn = sink.messages.find((m) => m.rcptTo.includes('ann@sender.test'))!;
      expect(sink.messages.length).toBeGreaterThan(before);
      // RFC 5321 §4.5.5: a DSN goes out with the null reverse-path.
      expect(dsn.mailFrom).toBe('');
      expect(dsn.rcptTo).toEqual(['ann@sender.test']);
      const mail = await simpleParser(dsn.raw);
      expect(mail.messageId).toBe(`<${out.MessageId}@${server.instance.config.hostname}>`);
      expect(mail.from?.value).toEqual([{ address: 'mailer-daemon@sender.test', name: 'Mail Delivery Subsystem' }]);
      expect(mail.subject).toBe('Delivery Status Notification (Failure)');
      const ct = mail.headers.get('content-type') as { value: string; params: Record<string, string> };
      expect(ct.value).toBe('multipart/report');
      expect(ct.params['report-type']).toBe('delivery-status');
      // The From domain's DKIM key signs it, as any mail from sender.test.
      expect(dsn.raw.toString('utf8')).toMatch(/^DKIM-Signature: .*d=sender\.test/m);
      expect(mail.text).toContain('Bob left the company.');
      const status = dsn.raw.toString('utf8').split('Content-Type: message/delivery-status\r\n\r\n')[1]!.split('\r\n--')[0]!;
      expect(status).toContain('Reporting-MTA: dns; inbound.sender.test\r\nArrival-Date: Fri, 02 Jan 2026 03:00:00 +0000\r\nX-Case: 17\r\n');
      expect(status).toContain('Final-Recipient: rfc822; bob@dest.test\r\nAction: failed\r\nStatus: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 Mailbox does not exist');
      expect(status).toContain('Final-Recipient: rfc822; carol@dest.test\r\nAction: delayed\r\nStatus: 4.2.2\r\nRemote-MTA: dns; mx.dest.test\r\nDiagnostic-Code: smtp; 452 4.2.2 Mailbox full');
      const headers = mail.attachments.find((a) => a.contentType === 'text/rfc822-headers')?.content.toString('utf8') ?? '';
      expect(headers).toContain('Subject: Order 42');
      expect(headers).toContain(`Message-ID: <${originalId}@`);
    });
  });
});
