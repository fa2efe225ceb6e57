import type { DevicesSettings } from './settings.js';

export interface DeviceResolver {
  /** The configured device a log came from (`observer.serial` first, then `observer.name`), if any. */
  byObserver(serial: string | undefined, name: string | undefined): string | undefined;
  /** The REST API admin user fortistream calls that device as (`api_user`), if declared. */
  apiUser(device: string): string | undefined;
}

/** Maps a log's observer fields to a device name, so an alert can act on the FortiGate that logged it. */
export function createDeviceResolver(devices: DevicesSettings | undefined): DeviceResolver {
  const bySerial = new Map<string, string>();
  const byName = new Map<string, string>();
  for (const [device, settings] of Object.entries(devices ?? {})) {
    for (const serial of settings.serials) bySerial.set(serial, device);
    for (const name of settings.names) byName.set(name, device);
  }
  return {
    byObserver(serial, name) {
      return (serial === undefined ? undefined : bySerial.get(serial)) ?? (name === undefined ? undefined : byName.get(name));
    },
    apiUser: (device) => devices?.[device]?.api_user,
  };
}
