/**
 * Which configured FortiGate (`devices:`) logged an event or opened a session. Events and sessions
 * name their device by observer serial (preferred) or observer name; `devices.<name>.serials` and
 * `.names` list the values that belong to each configured device (the schema refuses a value listed
 * by two devices).
 */

/** What the resolver reads of a device's settings (a parsed `devices.<name>` fits). */
export interface DeviceMatchSettings {
  readonly serials?: readonly string[];
  readonly names?: readonly string[];
  readonly api_user?: string | undefined;
}

export interface DeviceResolver {
  /** The configured device a log came from (`observer.serial` first, then `observer.name`), if any. */
  byObserver(serial: string | undefined, name: string | undefined): string | undefined;
  /** The device for one observer value (a session's device: its serial, else its name). */
  resolve(observer: string): string | undefined;
  /** The REST API admin user fortistream calls that device as (`api_user`), if declared. */
  apiUser(device: string): string | undefined;
  /** Every declared `api_user`: their rest-api logs are our own calls (no feedback loops). */
  apiUsers(): string[];
}

/** Maps a log's observer fields to a device name, so an alert can act on the FortiGate that logged it. */
export function createDeviceResolver(devices: Readonly<Record<string, DeviceMatchSettings>> | undefined): DeviceResolver {
  const bySerial = new Map<string, string>();
  const byName = new Map<string, string>();
  for (const [device, settings] of Object.entries(devices ?? {})) {
    for (const serial of settings.serials ?? []) bySerial.set(serial, device);
    for (const name of settings.names ?? []) byName.set(name, device);
  }
  return {
    byObserver(serial, name) {
      return (serial === undefined ? undefined : bySerial.get(serial)) ?? (name === undefined ? undefined : byName.get(name));
    },
    resolve: (observer) => bySerial.get(observer) ?? byName.get(observer),
    apiUser: (device) => devices?.[device]?.api_user,
    apiUsers: () => [...new Set(Object.values(devices ?? {}).flatMap((d) => (d.api_user === undefined ? [] : [d.api_user])))],
  };
}
