/**
 * No secret access key and no DKIM private key appears in plain text anywhere under the data dir
 * or in the database: every byte of every file under the data dir (the SQLite database and its
 * -wal and -shm files included) is scanned while the server runs and again after it closed, and on
 * PostgreSQL every text column of every table of the test schema is dumped and scanned. Also the
 * file modes of the master key and the data dir. On SQLite, and on PostgreSQL when
 * SESAME_TEST_DATABASE_URL is set.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { CreateEmailIdentityCommand } from '@aws-sdk/client-sesv2';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestDnsServer } from '../helpers/dns-server.ts';
import { startTestServer, testBackends, type TestServer } from '../helpers/server.ts';

/** A byte string to look for, with a label for failure messages (never the secret itself). */
interface Needle {
  label: string;
  bytes: Buffer;
}

/** Where a needle was found. */
interface Finding {
  where: string;
  needle: string;
}

/** Every regular file under `dir`, recursively. */
async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(p)));
    else if (entry.isFile()) out.push(p);
  }
  return out;
}

/** Looks for every needle in `haystack`. */
function scanBytes(where: string, haystack: Buffer, needles: Needle[]): Finding[] {
  return needles.filter((n) => haystack.includes(n.bytes)).map((n) => ({ where, needle: n.label }));
}

/** Scans every byte of every file under `dir`; returns the files scanned and what was found where. */
async function scanDir(dir: string, needles: Needle[]): Promise<{ files: string[]; findings: Finding[] }> {
  const files = await filesUnder(dir);
  const findings: Finding[] = [];
  for (const f of files) findings.push(...scanBytes(relative(dir, f), await readFile(f), needles));
  return { files: files.map((f) => relative(dir, f)), findings };
}

/** Every value of every text-like column of every table in `schema`, as `table.column` → text. */
async function dumpSchema(baseUrl: string, schema: string): Promise<{ tables: string[]; values: Map<string, string> }> {
  const c = new pg.Client({ connectionString: baseUrl });
  await c.connect();
  try {
    const cols = await c.query<{ table_name: string; column_name: string }>(
      `SELECT c.table_name, c.column_name FROM information_schema.columns c
         JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
        WHERE c.table_schema = $1 AND t.table_type = 'BASE TABLE'
          AND c.data_type IN ('text', 'character varying', 'character', 'json', 'jsonb', 'bytea', 'ARRAY', 'USER-DEFINED')
        ORDER BY c.table_name, c.ordinal_position`,
      [schema],
    );
    const values = new Map<string, string>();
    const tables = new Set<string>();
    for (const { table_name: t, column_name: col } of cols.rows) {
      tables.add(t);
      const rows = await c.query<{ v: string | null }>(`SELECT "${col}"::text AS v FROM "${schema}"."${t}"`);
      values.set(`${t}.${col}`, rows.rows.map((r) => r.v ?? '').join('\n'));
    }
    return { tables: [...tables], values };
  } finally {
    await c.end();
  }
}

function scanDump(dump: Map<string, string>, needles: Needle[]): Finding[] {
  const findings: Finding[] = [];
  for (const [where, text] of dump) findings.push(...scanBytes(where, Buffer.from(text, 'utf8'), needles));
  return findings;
}

/** The base64 body of a PEM, without header, footer or line breaks. */
function pemBody(pem: string): string {
  return pem.replace(/-----(BEGIN|END) [A-Z ]+-----/g, '').replace(/\s+/g, '');
}

/** A 40-character slice from inside one line of a PEM (so it matches wrapped and unwrapped forms alike). */
function pemSlice(pem: string): string {
  const lines = pem.split('\n').filter((l) => l.length === 64);
  const line = lines[Math.floor(lines.length / 2)]!;
  return line.slice(12, 52);
}

describe('the secret scanner', () => {
  it('finds a planted string, in any file of a nested directory, and nothing that is absent', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sesame-scan-'));
    try {
      await writeFile(join(dir, 'a.bin'), Buffer.concat([Buffer.from([0, 1, 2, 255]), Buffer.from('xx-planted-secret-xx'), Buffer.from([0])]));
      await mkdir(join(dir, 'nested', 'deeper'), { recursive: true });
      await writeFile(join(dir, 'nested', 'deeper', 'b.db-wal'), 'another needle here');
      const { files, findings } = await scanDir(dir, [
        { label: 'planted', bytes: Buffer.from('planted-secret') },
        { label: 'nested', bytes: Buffer.from('needle') },
        { label: 'absent', bytes: Buffer.from('not in any file') },
      ]);
      expect(files.sort()).toEqual(['a.bin', join('nested', 'deeper', 'b.db-wal')]);
      expect(findings).toEqual([
        { where: 'a.bin', needle: 'planted' },
        { where: join('nested', 'deeper', 'b.db-wal'), needle: 'nested' },
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

const BACKENDS = (['sqlite', 'postgres'] as const).map((b) => ({ backend: b, available: testBackends().includes(b) }));

describe.each(BACKENDS)('no secret appears in plain text at rest ($backend; postgres needs SESAME_TEST_DATABASE_URL)', ({ backend, available }) => {
  if (!available) {
    it.skip(`${backend} is not available in this environment`, () => {});
    return;
  }
  let base: string;
  let dataDir: string;
  let dns: TestDnsServer;
  let server: TestServer;
  let accountId: string;
  const secrets: Array<{ label: string; value: string }> = [];
  const keyIds: string[] = [];
  let needles: Needle[] = [];
  let pgBase: string | undefined;
  let pgSchema: string | undefined;

  beforeAll(async () => {
    base = await mkdtemp(join(tmpdir(), 'sesame-secrets-'));
    // A data dir that does not exist yet, so Sesame creates it (and chooses its mode).
    dataDir = join(base, 'data');
    dns = await TestDnsServer.start();
    server = await startTestServer({ backend, dataDir, dns });
    accountId = server.instance.config.accountId;
    if (server.databaseUrl) {
      const u = new URL(server.databaseUrl);
      pgSchema = u.searchParams.get('schema') ?? undefined;
      u.searchParams.delete('schema');
      pgBase = u.toString();
    }

    secrets.push({ label: 'root secret access key', value: server.secretAccessKey });
    keyIds.push(server.accessKeyId);
    const extra = [
      await server.instance.core.accounts.createKey({ description: 'extra key 1' }),
      await server.instance.core.accounts.createKey({ description: 'extra key 2', policy: { Statement: [{ Effect: 'Allow', Action: 'ses:SendEmail', Resource: '*' }] } }),
      await server.instance.core.accounts.createKey({ description: 'extra key 3' }),
    ];
    await server.instance.core.accounts.revokeKey(extra[2]!.accessKeyId); // an inactive key's secret is still a secret
    extra.forEach((k, i) => {
      secrets.push({ label: `extra secret access key ${i + 1}`, value: k.secretAccessKey });
      keyIds.push(k.accessKeyId);
    });

    // BYODKIM: the base64 body of a fresh 2048-bit PKCS#1 key, as SES's docs tell users to send it.
    const byodkim = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const pkcs1Pem = byodkim.export({ type: 'pkcs1', format: 'pem' }).toString();
    const pkcs8Pem = byodkim.export({ type: 'pkcs8', format: 'pem' }).toString();
    const v2 = server.sesv2();
    const created = await v2.send(
      new CreateEmailIdentityCommand({
        EmailIdentity: 'byodkim.test',
        DkimSigningAttributes: { DomainSigningSelector: 'sel2024', DomainSigningPrivateKey: pemBody(pkcs1Pem) },
      }),
    );
    expect(created.DkimAttributes?.SigningAttributesOrigin).toBe('EXTERNAL');
    secrets.push({ label: 'BYODKIM private key (PKCS#1 body as sent)', value: pemBody(pkcs1Pem) });
    secrets.push({ label: 'BYODKIM private key (40-char slice of PKCS#1)', value: pemSlice(pkcs1Pem) });
    secrets.push({ label: 'BYODKIM private key (PKCS#8 body)', value: pemBody(pkcs8Pem) });
    secrets.push({ label: 'BYODKIM private key (40-char slice of PKCS#8)', value: pemSlice(pkcs8Pem) });

    // Easy DKIM: Sesame generates the keys; read them back through core to know what to look for.
    const easy = await v2.send(new CreateEmailIdentityCommand({ EmailIdentity: 'easy-dkim.test' }));
    expect(easy.DkimAttributes?.Tokens).toHaveLength(3);
    const identity = await server.instance.core.identities.require(accountId, 'easy-dkim.test');
    for (const k of identity.data.dkim!.keys) {
      const pem = server.instance.core.identities.openDkimKey(identity, k);
      expect(pem).toContain('PRIVATE KEY');
      secrets.push({ label: `Easy DKIM private key ${k.selector.slice(0, 6)}… (body)`, value: pemBody(pem) });
      secrets.push({ label: `Easy DKIM private key ${k.selector.slice(0, 6)}… (40-char slice)`, value: pemSlice(pem) });
    }
    const byo = await server.instance.core.identities.require(accountId, 'byodkim.test');
    expect(pemBody(server.instance.core.identities.openDkimKey(byo, byo.data.dkim!.keys[0]!))).toBe(pemBody(pkcs8Pem));

    // Make sure the secrets really went through storage (and the verification worker wrote too).
    for (const id of keyIds) expect(await server.instance.storage.accessKeys.get(id)).toBeDefined();
    await server.instance.verifyNow();

    needles = [];
    for (const s of secrets) {
      needles.push({ label: `${s.label} (raw)`, bytes: Buffer.from(s.value, 'utf8') });
      needles.push({ label: `${s.label} (base64)`, bytes: Buffer.from(Buffer.from(s.value, 'utf8').toString('base64'), 'utf8') });
    }
    needles.push({ label: "the string 'PRIVATE KEY'", bytes: Buffer.from('PRIVATE KEY') });
  }, 60_000);

  afterAll(async () => {
    await server?.close();
    await dns?.close();
    if (base) await rm(base, { recursive: true, force: true });
  });

  it('while running: no secret in any file under the data dir', async () => {
    const { files, findings } = await scanDir(dataDir, needles);
    expect(files).toContain('master.key');
    if (backend === 'sqlite') expect(files).toEqual(expect.arrayContaining(['sesame.db', 'sesame.db-wal']));
    expect(findings).toEqual([]);
  });

  it('while running: the scan does find what is there (the access key ids, which are not secret)', async () => {
    const idNeedles = keyIds.map((id, i) => ({ label: `key id ${i}`, bytes: Buffer.from(id) }));
    if (backend === 'sqlite') {
      const { findings } = await scanDir(dataDir, idNeedles);
      expect(new Set(findings.map((f) => f.needle))).toEqual(new Set(idNeedles.map((n) => n.label)));
    } else {
      const { values } = await dumpSchema(pgBase!, pgSchema!);
      const findings = scanDump(values, idNeedles);
      expect(new Set(findings.map((f) => f.needle))).toEqual(new Set(idNeedles.map((n) => n.label)));
      expect(findings.map((f) => f.where)).toContain('access_keys.access_key_id');
    }
  });

  it.skipIf(backend !== 'postgres')('while running: no secret in any text column of any table of the schema', async () => {
    const { tables, values } = await dumpSchema(pgBase!, pgSchema!);
    expect(tables).toEqual(expect.arrayContaining(['access_keys', 'identities', 'accounts', 'tags']));
    expect(values.get('access_keys.secret_sealed')).toMatch(/^v1\./);
    expect(values.get('identities.data')).toContain('privateKeySealed');
    expect(scanDump(values, needles)).toEqual([]);
  });

  it('no secret in the server’s log lines', async () => {
    const text = Buffer.from(server.logs.map((l) => JSON.stringify(l)).join('\n'), 'utf8');
    expect(server.logs.length).toBeGreaterThan(0);
    expect(scanBytes('logs', text, needles)).toEqual([]);
  });

  it('the master key file is 0600 and the data dir is not world-accessible', async () => {
    expect((await stat(join(dataDir, 'master.key'))).mode & 0o777).toBe(0o600);
    expect((await stat(dataDir)).mode & 0o007).toBe(0);
  });

  it('after close: no secret in any file under the data dir, and the scan still finds the key ids', async () => {
    await server.close();
    const { files, findings } = await scanDir(dataDir, needles);
    expect(files).toContain('master.key');
    if (backend === 'sqlite') {
      expect(files).toContain('sesame.db');
      const ids = await scanDir(dataDir, keyIds.map((id, i) => ({ label: `key id ${i}`, bytes: Buffer.from(id) })));
      expect(new Set(ids.findings.map((f) => f.needle)).size).toBe(keyIds.length);
    }
    expect(findings).toEqual([]);
    expect((await stat(join(dataDir, 'master.key'))).mode & 0o777).toBe(0o600);
  });
});
