/**
 * Enforcement: BullMQ jobs that call the FortiOS REST API (and webhooks). What the worker wires:
 * `createActionQueue` (producers: thresholds, revoke, feeds) and `startActionRunner` (the consumer).
 */
export {
  actionJobId,
  actionScope,
  actionTarget,
  checkActionJob,
  fortiosDeauthMethod,
  fortiosRequestFor,
  FORTIOS_DEAUTH_METHODS,
  ACTION_JOB_TYPES,
  type ActionJob,
  type ActionJobType,
  type DeviceActionJob,
  type FortiosDeauthMethod,
  type PlannedRequest,
} from './jobs.js';
export {
  createActionQueue,
  validateForQueue,
  type ActionQueue,
  type ActionQueueOptions,
  type ActionJobState,
  type ActionJobSummary,
  type EnqueueOptions,
  type EnqueueResult,
} from './queue.js';
export { startActionRunner, type ActionRunner, type ActionRunnerOptions } from './runner.js';
export { createFortiosClient, describeCallFailure, type CallResult, type CallRequest, type FortiosClient, type FortiosError, type HttpEndpointOptions } from './fortios-client.js';
export { loadEndpoints, type DeviceEndpoint, type Endpoints, type WebhookEndpoint } from './endpoints.js';
export { createActionAudit, type ActionAudit, type ActionAuditEntry, type ActionAuditOutcome, type ActionAuditSettings } from './audit.js';
export { actionMetrics, type ActionMetrics } from './metrics.js';
export {
  actionsSettingsSchema,
  deviceSettingsSchema,
  devicesSettingsSchema,
  webhookSettingsSchema,
  DEFAULT_ACTIONS_SETTINGS,
  type ActionsSettings,
  type DeviceSettings,
  type DevicesSettings,
  type WebhookSettings,
} from './settings.js';
export { createDeviceResolver, type DeviceResolver } from './device-resolver.js';
