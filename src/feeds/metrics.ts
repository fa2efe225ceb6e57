import type { Registry } from 'prom-client';

/** A metric from `registry`, created once (a second source on the same registry reuses it). */
export function registeredMetric<T>(registry: Registry, name: string, create: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? create();
}
