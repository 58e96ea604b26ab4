/**
 * `sesame nodes`: the nodes of this installation (every `sesame serve` on the same database), read
 * from the node registry: id, roles, host, pid, start, last heartbeat, and whether it is up — a node
 * that missed three heartbeats is down. Also which node runs the installation-wide jobs (identity
 * verification) that run on one node at a time.
 */
import type { Command } from 'commander';
import type { NodeView } from '../../core/index.ts';
import type { CliContext } from './context.ts';
import { relative, table } from './events.ts';

const iso = (ms: number) => new Date(ms).toISOString();

/** One node as `--json` prints it. */
function nodeJson(n: NodeView) {
  return {
    id: n.id,
    state: n.state,
    roles: n.roles,
    hostname: n.hostname,
    pid: n.pid,
    version: n.version,
    startedAt: iso(n.startedAt),
    lastSeen: iso(n.heartbeatAt),
    heartbeatIntervalMs: n.heartbeatIntervalMs,
    jobs: n.jobs,
  };
}

/** Registers the command. */
export function registerNodes(program: Command, ctx: CliContext): void {
  program
    .command('nodes')
    .description('list the nodes of this installation (every sesame serve on the same database) with their roles and whether they are up')
    .option('--json', 'print a JSON array of nodes')
    .action(async (opts: { json?: boolean }) => {
      const opened = await ctx.openCore(ctx.loadConfig());
      try {
        const nodes = await opened.core.nodes.list();
        if (opts.json) {
          ctx.out(JSON.stringify(nodes.map(nodeJson), null, 2));
          return;
        }
        if (nodes.length === 0) {
          ctx.out('No node is registered: no sesame serve is running on this database.');
          return;
        }
        const now = Date.now();
        const up = nodes.filter((n) => n.state === 'up').length;
        ctx.out(
          [
            table(
              ['ID', 'STATE', 'ROLES', 'HOST', 'PID', 'VERSION', 'STARTED', 'LAST SEEN', 'JOBS'],
              nodes.map((n) => [
                n.id,
                n.state,
                n.roles.join(','),
                n.hostname,
                String(n.pid),
                n.version,
                iso(n.startedAt),
                relative(n.heartbeatAt, now),
                n.jobs.length ? n.jobs.join(',') : '-',
              ]),
            ),
            '',
            `${nodes.length} node${nodes.length === 1 ? '' : 's'}, ${up} up. A node is down after three missed heartbeats; a down node's row goes away when it starts again or after 24 h.`,
          ].join('\n'),
        );
      } finally {
        await opened.close();
      }
    });
}
