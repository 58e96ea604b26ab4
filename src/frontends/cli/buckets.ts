/** `sesame buckets link|list|unlink`: buckets on S3-compatible endpoints that S3 receipt actions write to. */
import type { Command } from 'commander';
import type { CliContext } from './context.ts';
import { withCore } from './context.ts';

/** Registers the command group. */
export function registerBuckets(program: Command, ctx: CliContext): void {
  const b = program.command('buckets').description('link bucket names to S3-compatible endpoints (AWS S3, MinIO, …) for S3 receipt actions');

  b.command('link <name>')
    .description('store the mail of S3 actions naming <name> at an S3-compatible endpoint instead of the built-in object store')
    .requiredOption('--endpoint <url>', 'the endpoint (path-style requests), e.g. https://s3.eu-west-1.amazonaws.com or http://minio:9000')
    .requiredOption('--access-key-id <id>', 'a key that may PutObject into the bucket')
    .option('--secret-access-key <secret>', 'its secret (default: read from the first line of standard input, which keeps it out of the shell history)')
    .option('--bucket <remote>', "the bucket's name at the endpoint (default: <name>)")
    .option('--region <region>', 'the region requests are signed for', 'us-east-1')
    .option('--json', 'print JSON')
    .action(async (name: string, opts: { endpoint: string; accessKeyId: string; secretAccessKey?: string; bucket?: string; region: string; json?: boolean }) => {
      const secret = opts.secretAccessKey ?? (await firstLineOfStdin());
      if (!secret) throw new Error('give the secret access key with --secret-access-key or on standard input');
      await withCore(ctx, async (core) => {
        const l = await core.externalBuckets.link(core.settings.accountId, name, { endpoint: opts.endpoint, accessKeyId: opts.accessKeyId, secretAccessKey: secret, bucket: opts.bucket, region: opts.region });
        ctx.out(opts.json ? JSON.stringify({ Name: l.name, Endpoint: l.endpoint, Bucket: l.bucket, Region: l.region, AccessKeyId: l.accessKeyId }, null, 2) : `linked bucket ${l.name} to ${l.endpoint}/${l.bucket} (${l.region})`);
      });
    });

  b.command('list')
    .description('list linked buckets (secrets are never shown)')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      await withCore(ctx, async (core) => {
        const list = await core.externalBuckets.list(core.settings.accountId);
        if (opts.json) ctx.out(JSON.stringify(list.map((l) => ({ Name: l.name, Endpoint: l.endpoint, Bucket: l.bucket, Region: l.region, AccessKeyId: l.accessKeyId, CreateDate: new Date(l.createdAt).toISOString() })), null, 2));
        else ctx.out(['NAME                 ENDPOINT / BUCKET                                       REGION       KEY ID'].concat(list.map((l) => `${l.name.padEnd(20)} ${`${l.endpoint}/${l.bucket}`.padEnd(55)} ${l.region.padEnd(12)} ${l.accessKeyId}`)).join('\n'));
      });
    });

  b.command('unlink <name>')
    .description('remove a link (S3 actions naming the bucket then fail and log it, unless the built-in store has it)')
    .action(async (name: string) => {
      await withCore(ctx, async (core) => {
        await core.externalBuckets.unlink(core.settings.accountId, name);
        ctx.out(`unlinked bucket ${name}`);
      });
    });
}

/** The first line of standard input (empty when it is a terminal or closed). */
async function firstLineOfStdin(): Promise<string> {
  if (process.stdin.isTTY) return '';
  let text = '';
  for await (const chunk of process.stdin) {
    text += String(chunk);
    if (text.includes('\n')) break;
  }
  return text.split(/\r?\n/)[0]!.trim();
}
