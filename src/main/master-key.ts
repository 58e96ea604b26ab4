/**
 * The master key that seals secrets at rest: `SESAME_MASTER_KEY`, or a key file created once in the
 * data dir (mode 0600). Losing the key file makes stored secrets unreadable, so it is never rotated
 * silently; docs/operations.md says how to back it up.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SecretBox } from '../lib/secretbox.ts';

/** Returns the master key from configuration or the data dir, creating the key file on first use. */
export function loadMasterKey(masterKey: string | undefined, dataDir: string): Buffer {
  if (masterKey) return SecretBox.parseKey(masterKey);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = join(dataDir, 'master.key');
  try {
    return SecretBox.parseKey(readFileSync(file, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`cannot read master key ${file}: ${(err as Error).message}`);
  }
  const key = randomBytes(32);
  // 'wx' fails if another process created the file meanwhile; then read theirs.
  try {
    writeFileSync(file, `${key.toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
    chmodSync(file, 0o600);
    return key;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return SecretBox.parseKey(readFileSync(file, 'utf8'));
    throw err;
  }
}

/**
 * This node's stable id, kept in `node.id` in the data dir: the owner name of its queue leases, so
 * that after a crash the restarted node reclaims exactly its own in-flight work.
 */
export function loadNodeId(dataDir: string): string {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = join(dataDir, 'node.id');
  try {
    const id = readFileSync(file, 'utf8').trim();
    if (/^node-[0-9a-f-]{36}$/.test(id)) return id;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const id = `node-${randomUUID()}`;
  writeFileSync(file, `${id}\n`, { mode: 0o600 });
  return id;
}
