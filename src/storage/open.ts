/** Chooses a storage backend from a database URL; used only by composition roots (src/main). */
import { join } from 'node:path';
import type { Storage } from './ports.ts';

/**
 * Opens the backend named by `databaseUrl`, or the embedded SQLite file in `dataDir`.
 * `onConnectionError` hears about errors of idle PostgreSQL connections (the pool replaces them).
 */
export async function openStorage(databaseUrl: string | undefined, dataDir: string, onConnectionError?: (err: Error) => void): Promise<Storage> {
  if (databaseUrl && /^postgres(ql)?:/.test(databaseUrl)) {
    const { openPostgresStorage } = await import('./postgres/index.ts');
    return openPostgresStorage(databaseUrl, { onConnectionError });
  }
  const { openSqliteStorage } = await import('./sqlite/index.ts');
  if (databaseUrl) return openSqliteStorage(databaseUrl.replace(/^(sqlite|file):(\/\/)?/, ''));
  return openSqliteStorage(join(dataDir, 'sesame.db'));
}
