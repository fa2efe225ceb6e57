/**
 * Which configured FortiGate (`devices:`) logged an event or opened a session. Events and sessions
 * name their device by observer serial (preferred) or observer name; `devices.<name>.serials` and
 * `.names` list the values that belong to each configured device.
 */

export interface DeviceMatchSettings {
  readonly serials?: readonly string[];
  readonly names?: readonly string[];
}

export interface DeviceDirectory {
  /** Configured device name for an observer serial or name; undefined when no device claims it. */
  resolve(observer: string): string | undefined;
  /** Every configured device name. */
  readonly names: readonly string[];
  has(device: string): boolean;
}

export function createDeviceDirectory(devices: Readonly<Record<string, DeviceMatchSettings>> | undefined): DeviceDirectory {
  const byObserver = new Map<string, string>();
  const names = Object.keys(devices ?? {});
  for (const [name, device] of Object.entries(devices ?? {})) {
    // Serials first: a serial is unique, a hostname may be reused (later devices do not override).
    for (const serial of device.serials ?? []) if (!byObserver.has(serial)) byObserver.set(serial, name);
  }
  for (const [name, device] of Object.entries(devices ?? {})) {
    for (const observerName of device.names ?? []) if (!byObserver.has(observerName)) byObserver.set(observerName, name);
  }
  const known = new Set(names);
  return {
    resolve: (observer) => byObserver.get(observer),
    names,
    has: (device) => known.has(device),
  };
}
