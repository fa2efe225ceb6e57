import type { Logger } from 'pino';

/** A refused peer is warned about at most once per interval; the counter counts every refusal. */
const WARN_INTERVAL_MS = 60_000;
/** Bounds the memory a scan from many addresses can take; clearing only means an extra warning. */
const MAX_TRACKED_PEERS = 10_000;

/** Rate-limited warnings for refused packets and connections (never one log line per packet). */
export class RefusalWarnings {
  private readonly lastWarnedAt = new Map<string, number>();

  constructor(
    private readonly logger: Logger,
    private readonly source: string,
    private readonly intervalMs: number = WARN_INTERVAL_MS,
  ) {}

  note(reason: string, peer: string, now: number = Date.now()): void {
    const key = `${reason} ${peer}`;
    const last = this.lastWarnedAt.get(key);
    if (last !== undefined && now - last < this.intervalMs) return;
    if (last === undefined && this.lastWarnedAt.size >= MAX_TRACKED_PEERS) this.lastWarnedAt.clear();
    this.lastWarnedAt.set(key, now);
    this.logger.warn(
      { source: this.source, peer, reason },
      `refused ${reason === 'not_allowed' ? 'a sender outside allow_from' : reason} (further refusals of this peer are only counted for ${Math.round(this.intervalMs / 1000)}s)`,
    );
  }
}
