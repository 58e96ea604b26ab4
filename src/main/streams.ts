/**
 * Where KinesisFirehoseDestination events go on a self-hosted install: one file of newline-delimited
 * JSON per delivery stream, `<data dir>/firehose/<stream name>.ndjson`, appended and flushed to disk
 * before the events are marked published (so a crash may repeat a line, never lose one).
 */
import { mkdirSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import type { StreamSink } from '../core/index.ts';

/** A StreamSink writing files under `dir`. */
export function fileStreams(dir: string): StreamSink {
  let made = false;
  return {
    async append(stream, lines) {
      if (lines.length === 0) return;
      // Stream names are checked when the destination is created; keep the file inside the dir anyway.
      const name = stream.replace(/[^A-Za-z0-9_.-]/g, '_').replace(/^\.+/, '_');
      if (!made) {
        mkdirSync(dir, { recursive: true, mode: 0o700 });
        made = true;
      }
      const f = await open(join(dir, `${name}.ndjson`), 'a', 0o600);
      try {
        await f.writeFile(lines.join('\n') + '\n');
        await f.sync();
      } finally {
        await f.close();
      }
    },
  };
}
