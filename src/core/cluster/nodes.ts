/**
 * The node registry: every `sesame serve` registers itself (id, roles, host, pid, version, start),
 * refreshes its row every heartbeat interval, and removes it on a clean shutdown. A node whose last
 * heartbeat is older than three of its intervals is down (killed, frozen, cut off from the database);
 * its row stays, shown as down, until it starts again or a day has passed.
 */
import type { Logger } from '../../observability/logger.ts';
import type { JobLeaseRecord, NodeRecord, Storage } from '../../storage/ports.ts';
import type { Clock } from '../clock.ts';

/** Heartbeats a node may miss before it is down. */
export const MISSED_HEARTBEATS_DOWN = 3;
/** A down node's row is removed after this long without a heartbeat (24 h). */
export const FORGET_DOWN_NODES_MS = 86_400_000;

/** Whether a node is beating. */
export type NodeState = 'up' | 'down';

/** A registered node as operators see it. */
export interface NodeView extends NodeRecord {
  state: NodeState;
  /** Installation-wide jobs whose unexpired lease this node holds. */
  jobs: string[];
}

/** What a node tells the registry about itself. */
export interface NodeInfo {
  roles: string[];
  hostname: string;
  pid: number;
  version: string;
}

/** A node's state from its last heartbeat. */
export function nodeState(n: Pick<NodeRecord, 'heartbeatAt' | 'heartbeatIntervalMs'>, now: number): NodeState {
  return now - n.heartbeatAt > MISSED_HEARTBEATS_DOWN * n.heartbeatIntervalMs ? 'down' : 'up';
}

/** Registers this node, keeps its heartbeat, and lists the installation's nodes. */
export class NodeRegistry {
  private info: NodeInfo | undefined;
  private startedAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private beating: Promise<void> = Promise.resolve();
  private stopped = true;
  private failing = false;

  constructor(
    private readonly storage: Storage,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly settings: { nodeId: string; heartbeatMs: number },
  ) {}

  /** This node's id. */
  get nodeId(): string {
    return this.settings.nodeId;
  }

  /** Registers this node (replacing a row of an earlier run of the same data dir) and starts its heartbeat. */
  async register(info: NodeInfo): Promise<void> {
    this.info = info;
    this.startedAt = this.clock.now();
    await this.write();
    this.logger.info(
      { code: 'NODE_REGISTERED', node: this.nodeId, roles: info.roles, host: info.hostname, heartbeatMs: this.settings.heartbeatMs },
      `node ${this.nodeId} registered (roles ${info.roles.join(',')})`,
    );
    // Rows of nodes that went away without a clean shutdown and never came back.
    await this.storage.nodes.prune(this.startedAt - FORGET_DOWN_NODES_MS).catch(() => {});
    this.stopped = false;
    this.schedule();
  }

  /** Stops the heartbeat and removes this node's row (clean shutdown). */
  async deregister(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.beating;
    try {
      await this.storage.nodes.remove(this.nodeId);
      this.logger.info({ code: 'NODE_DEREGISTERED', node: this.nodeId }, `node ${this.nodeId} left the node registry`);
    } catch (err) {
      this.logger.warn({ code: 'NODE_DEREGISTER_FAILED', node: this.nodeId, err }, `could not remove node ${this.nodeId} from the node registry; it will show as down`);
    }
  }

  /** Every registered node with its state and the jobs it holds, oldest start first. */
  async list(): Promise<NodeView[]> {
    const [nodes, leases] = await Promise.all([this.storage.nodes.list(), this.storage.jobLeases.list()]);
    const now = this.clock.now();
    return nodes.map((n) => ({ ...n, state: nodeState(n, now), jobs: heldJobs(leases, n.id, now) }));
  }

  /** Every installation-wide job lease (expired ones included). */
  leases(): Promise<JobLeaseRecord[]> {
    return this.storage.jobLeases.list();
  }

  private async write(): Promise<void> {
    const info = this.info!;
    const now = this.clock.now();
    await this.storage.nodes.register({ id: this.nodeId, ...info, startedAt: this.startedAt, heartbeatAt: now, heartbeatIntervalMs: this.settings.heartbeatMs });
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.beating = this.beat().finally(() => this.schedule());
    }, this.settings.heartbeatMs);
    // The heartbeat alone never keeps a process running.
    this.timer.unref();
  }

  private async beat(): Promise<void> {
    try {
      if (!(await this.storage.nodes.heartbeat(this.nodeId, this.clock.now()))) {
        // Removed meanwhile (pruned after a long freeze, or by an operator): register again.
        await this.write();
        this.logger.warn({ code: 'NODE_REREGISTERED', node: this.nodeId }, `node ${this.nodeId} was missing from the node registry and registered again`);
      }
      if (this.failing) this.logger.info({ code: 'NODE_HEARTBEAT_RESTORED', node: this.nodeId }, 'node heartbeat is written again');
      this.failing = false;
    } catch (err) {
      // Logged once per outage; the next beats keep trying.
      if (!this.failing) this.logger.warn({ code: 'NODE_HEARTBEAT_FAILED', node: this.nodeId, err }, `could not write the node heartbeat (${(err as Error).message}); other nodes will see this one as down if it lasts`);
      this.failing = true;
    }
  }
}

function heldJobs(leases: JobLeaseRecord[], owner: string, now: number): string[] {
  return leases.filter((l) => l.owner === owner && l.expiresAt > now).map((l) => l.job);
}
