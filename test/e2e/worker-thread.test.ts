/**
 * The worker role on its own thread (SQLite's default, ADR 0019): mail accepted on the main thread
 * is delivered by the thread, the thread's log lines reach the node's log (marked `thread: "worker"`)
 * and its counts reach /metrics; a thread that dies is started again and delivers what was queued;
 * `SESAME_WORKER_THREAD=false` runs the role on the main thread.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { SendEmailCommand } from '@aws-sdk/client-sesv2';
import { startSendingFixture, type SendingFixture } from '../helpers/fixtures.ts';
import { sunkMessageId } from '../helpers/sink.ts';
import { procStatFields } from '../helpers/proc-stat.ts';
import { FREE_PORTS_ENV, logSink } from '../helpers/server.ts';
import { WORKER_THREAD_NICE } from '../../src/main/worker-thread.ts';
import { loadConfig } from '../../src/config/load.ts';
import { startSesame } from '../../src/main/app.ts';
import { createLogger } from '../../src/observability/logger.ts';

describe('the worker thread (SQLite)', () => {
  let fixture: SendingFixture | undefined;
  afterEach(async () => {
    await fixture?.close();
    fixture = undefined;
  });

  async function send(f: SendingFixture, n: number, tag: string, credentials?: { accessKeyId: string; secretAccessKey: string }): Promise<string[]> {
    const ses = f.server.sesv2(credentials);
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const r = await ses.send(
        new SendEmailCommand({
          FromEmailAddress: 'orders@sender.test',
          Destination: { ToAddresses: [`${tag}-${i}@dest.test`] },
          Content: { Simple: { Subject: { Data: `${tag} ${i}` }, Body: { Text: { Data: 'hello' } } } },
        }),
      );
      ids.push(r.MessageId!);
    }
    return ids;
  }

  /** A thread's niceness (field 19 of its stat file, Linux); undefined once the thread is gone. */
  const niceness = (stat: string) => {
    const f = procStatFields(stat);
    return f && Number(f[16]);
  };
  /**
   * The niceness of the process's main thread, and of each of its threads (the fixture's node runs in
   * this process); a thread that ended between the listing and the read is left out.
   */
  const threadNiceness = () => ({
    main: niceness('/proc/self/stat')!,
    threads: readdirSync('/proc/self/task').flatMap((tid) => niceness(`/proc/self/task/${tid}/stat`) ?? []),
  });

  const atSink = (f: SendingFixture, ids: string[]) => {
    const wanted = new Set(ids);
    return f.sink.messages.filter((m) => wanted.has(sunkMessageId(m.raw) ?? '')).length;
  };

  it('delivers from its own thread; its logs and metrics are the node’s', async () => {
    fixture = await startSendingFixture({ env: { SESAME_WORKER_THREAD: 'true' } });
    const f = fixture;
    expect(f.server.instance.workerThread).toBeDefined();
    const ids = await send(f, 5, 'thread');
    await f.sink.waitFor(() => atSink(f, ids) === 5, 30_000, 'five messages at the sink');
    // The delivery log lines come from the thread, into the same log.
    await expect.poll(() => f.server.logs.filter((l) => l.thread === 'worker' && l.code === 'DELIVERY_OK').length, { timeout: 10_000 }).toBeGreaterThanOrEqual(5);
    // The main thread's own delivery worker never ran.
    expect(f.server.logs.filter((l) => l.code === 'DELIVERY_OK' && l.thread !== 'worker')).toEqual([]);
    await expect
      .poll(async () => {
        const text = await (await fetch(`${f.server.url}/metrics`)).text();
        return Number(/^sesame_delivery_attempts_total\{outcome="delivered"\} (\d+)/m.exec(text)?.[1] ?? 0);
      }, { timeout: 10_000 })
      .toBeGreaterThanOrEqual(5);
    // Delivery yields the cores to the threads that answer clients: the worker thread alone runs 10 nicer than main
    // (at most 19: under `nice -n 19` there is no lower priority to take, and every thread stays at main's).
    if (process.platform === 'linux') {
      const { main, threads } = threadNiceness();
      const lower = Math.min(19, main + WORKER_THREAD_NICE);
      if (lower > main) expect(threads.filter((n) => n === lower)).toHaveLength(1);
      expect(threads.filter((n) => n !== main && n !== lower)).toEqual([]);
    }
  });

  it('starts a thread that died again, which delivers what was queued meanwhile', async () => {
    fixture = await startSendingFixture({ env: { SESAME_WORKER_THREAD: 'true' } });
    const f = fixture;
    const first = await send(f, 3, 'before');
    await f.sink.waitFor(() => atSink(f, first) === 3, 30_000, 'three messages at the sink');
    // Their outcomes committed: a delivery still in flight at the crash is delivered again (at least once).
    await expect.poll(async () => (await f.server.instance.storage.queue.stats()).delivered, { timeout: 10_000 }).toBe(3);
    const health = async () => {
      const r = await fetch(`${f.server.url}/health`);
      return { status: r.status, body: (await r.json()) as { status: string; workerThread?: string } };
    };
    const metric = async (name: string) => Number(new RegExp(`^${name} (\\S+)`, 'm').exec(await (await fetch(`${f.server.url}/metrics`)).text())?.[1]);
    expect(await health()).toEqual({ status: 200, body: expect.objectContaining({ status: 'ok', workerThread: 'running' }) });
    expect([await metric('sesame_worker_thread_up'), await metric('sesame_worker_thread_restarts_total')]).toEqual([1, 0]);
    await f.server.instance.workerThread!.terminate();
    // The node still takes mail while its thread is down (it is queued): /health stays 200 and says so.
    expect(await health()).toEqual({ status: 200, body: expect.objectContaining({ status: 'ok', workerThread: 'restarting' }) });
    expect(await metric('sesame_worker_thread_up')).toBe(0);
    // Accepted while no thread runs: queued, and delivered by the next one.
    const second = await send(f, 3, 'after');
    await expect.poll(() => f.server.logs.some((l) => l.code === 'WORKER_THREAD_EXITED'), { timeout: 10_000 }).toBe(true);
    await f.sink.waitFor(() => atSink(f, second) === 3, 30_000, 'the three sent while the thread was down');
    expect(atSink(f, [...first, ...second])).toBe(6);
    expect((await health()).body.workerThread).toBe('running');
    expect([await metric('sesame_worker_thread_up'), await metric('sesame_worker_thread_restarts_total')]).toEqual([1, 1]);
  });

  it('a thread started again uses the node’s SNS pair and root key as they are (it bootstraps nothing)', async () => {
    fixture = await startSendingFixture({ env: { SESAME_WORKER_THREAD: 'true' } });
    const f = fixture;
    const accounts = f.server.instance.core.accounts;
    // The root key of SESAME_ROOT_ACCESS_KEY_ID is revoked while the node runs (another root key stays):
    // a new start of the node would refuse it, a new start of the thread must not.
    const other = await accounts.createKey({ isRoot: true, description: 'second root' });
    expect(await accounts.revokeKey(f.server.accessKeyId)).toBe(true);
    const certBefore = readFileSync(join(f.server.dataDir, 'sns-signing-cert.pem'), 'utf8');
    await f.server.instance.workerThread!.terminate();
    await expect.poll(() => f.server.logs.filter((l) => l.code === 'WORKER_THREAD_EXITED').length, { timeout: 10_000 }).toBe(1);
    const ids = await send(f, 2, 'after-revoke', { accessKeyId: other.accessKeyId, secretAccessKey: other.secretAccessKey });
    await f.sink.waitFor(() => atSink(f, ids) === 2, 30_000, 'two messages delivered by the new thread');
    // It did not fail to start again, and did not write another signing pair.
    expect(f.server.logs.filter((l) => l.code === 'WORKER_THREAD_EXITED')).toHaveLength(1);
    expect(readFileSync(join(f.server.dataDir, 'sns-signing-cert.pem'), 'utf8')).toBe(certBefore);
  });

  it('/health answers 503 waiting for `worker` while the thread starts, and 200 only once it runs', async () => {
    // The node's HTTP port answers before the thread is up (about 0.7 s): /health is asked from the
    // HTTP_LISTENING line on, every few milliseconds, until the node has started.
    const dataDir = await mkdtemp(join(tmpdir(), 'sesame-health-'));
    const lines: Array<Record<string, unknown>> = [];
    const sink = logSink(lines);
    const config = loadConfig({
      SESAME_DATA_DIR: dataDir,
      ...FREE_PORTS_ENV,
      SESAME_WORKER_THREAD: 'true',
      SESAME_LOG_LEVEL: 'info',
    });
    let started = false;
    const starting = startSesame(config, { logger: createLogger(config.logLevel, sink), logDestination: sink }).finally(() => (started = true));
    const answers: Array<{ status: number; body: Record<string, unknown> }> = [];
    try {
      while (!started) {
        const url = lines.find((l) => l.code === 'HTTP_LISTENING')?.url as string | undefined;
        if (url) {
          const r = await fetch(`${url}/health`);
          answers.push({ status: r.status, body: (await r.json()) as Record<string, unknown> });
        }
        await sleep(5);
      }
      const r = await fetch(`${(await starting).httpUrl}/health`);
      answers.push({ status: r.status, body: (await r.json()) as Record<string, unknown> });
    } finally {
      await starting.then(
        (i) => i.close(),
        () => undefined,
      );
      await rm(dataDir, { recursive: true, force: true });
    }
    expect(answers).toContainEqual({ status: 503, body: { status: 'starting', waitingFor: ['worker'], storage: 'ok' } });
    // Never "ok" before the thread runs; the last answer, after start-up, is.
    expect(answers.filter((a) => a.status === 200).map((a) => a.body)).toEqual(
      answers.filter((a) => a.status === 200).map(() => ({ status: 'ok', waitingFor: [], storage: 'ok', workerThread: 'running' })),
    );
    expect(answers.at(-1)).toEqual({ status: 200, body: { status: 'ok', waitingFor: [], storage: 'ok', workerThread: 'running' } });
  });

  it('SESAME_WORKER_THREAD=false delivers on the main thread', async () => {
    fixture = await startSendingFixture({ env: { SESAME_WORKER_THREAD: 'false' } });
    const f = fixture;
    expect(f.server.instance.workerThread).toBeUndefined();
    // No thread, so /health and /metrics say nothing of one.
    expect(await (await fetch(`${f.server.url}/health`)).json()).toEqual({ status: 'ok', waitingFor: [], storage: 'ok' });
    expect(await (await fetch(`${f.server.url}/metrics`)).text()).not.toContain('sesame_worker_thread_');
    const ids = await send(f, 2, 'inline');
    await f.sink.waitFor(() => atSink(f, ids) === 2, 30_000, 'two messages at the sink');
    expect(f.server.logs.some((l) => l.thread === 'worker')).toBe(false);
    if (process.platform === 'linux') {
      const { main, threads } = threadNiceness();
      expect(threads.filter((n) => n !== main)).toEqual([]);
    }
  });
});
