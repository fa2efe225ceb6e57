/**
 * The session store: opens, refreshes, closes, revokes and sweeps sessions through the session Lua
 * scripts, batching each call's changes into one pipeline. The parts live in sessions/: contracts
 * (the store's interface and its types), arguments (validation and script arguments), replies
 * (parsing script replies) and store (createSessionStore).
 */

export type {
  SessionActivity,
  SessionChange,
  SessionChangeResult,
  SessionCloseSelector,
  SessionOpenResult,
  SessionOpenStatus,
  SessionRefreshResult,
  SessionReplayGuard,
  SessionRevokeSelector,
  SessionStore,
  SessionStoreOptions,
  SessionSweepResult,
} from './sessions/contracts.js';
export { createSessionStore } from './sessions/store.js';
