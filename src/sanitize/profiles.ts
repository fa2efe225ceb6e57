/**
 * Audience profiles (`ml`, `agent`, `soc`): their settings and compiled form (profiles/settings.ts)
 * and the projection of a normalized event onto one (profiles/project.ts, whose header says what
 * each profile keeps).
 */

export { compileProfile, profileSettingsSchema, type CompiledProfile, type ProfileSettings, type TextFieldSpec } from './profiles/settings.js';
export { projectEvent, type ProjectionContext, type UntrustedTextEntry } from './profiles/project.js';
export { projectAlert } from './profiles/alerts.js';
