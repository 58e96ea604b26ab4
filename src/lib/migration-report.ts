/**
 * What `sesame migrate` reports: its progress as it copies, and what it copied. Shared by the copy
 * (src/storage/migrate.ts) and the command that prints it (src/frontends/cli/migrate.ts).
 */

/** Progress of the copy, reported as it goes. */
export type MigrationProgress =
  | { phase: 'prepare'; message: string }
  | { phase: 'table'; table: string; copied: number; total: number; done: boolean }
  | { phase: 'skip'; table: string; rows: number; reason: string }
  | { phase: 'blobs'; copied: number; total: number; bytes: number; done: boolean }
  | { phase: 'commit' };

/** What was copied. */
export interface MigrationSummary {
  /** SQLite file that was read. */
  source: string;
  /** Rows per copied table, in copy order. */
  tables: Array<{ table: string; rows: number }>;
  /** Tables left behind on purpose, with their row counts and why. */
  skipped: Array<{ table: string; rows: number; reason: string }>;
  /** Blobs copied into `blob_chunks`, and their total size. */
  blobs: { count: number; bytes: number };
  /** Blob ids that rows name but whose files were missing in the source (already broken there). */
  missingBlobs: Array<{ table: string; column: string; id: string }>;
  /** Rows whose lease was cleared. */
  leasesCleared: number;
  /** Sequences moved past the copied ids: the next value each will hand out. */
  sequences: Array<{ table: string; column: string; next: number }>;
  elapsedMs: number;
}
