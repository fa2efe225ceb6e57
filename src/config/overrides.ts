/** Command-line overrides of the common settings, applied to the raw pipeline before validation. */
export interface PipelineOverrides {
  readonly udp?: string | undefined;
  readonly tcp?: string | undefined;
  readonly tls?: string | undefined;
}

type RawObject = Record<string, unknown>;

function isObject(value: unknown): value is RawObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * `--udp/--tcp/--tls HOST:PORT` set the address of the pipeline's first syslog source of that mode,
 * or add a source named `udp` / `tcp` / `tls` when there is none (a TLS source added this way has no
 * certificate, so validation then asks for `tls.cert_file` and `tls.key_file`).
 */
export function applyOverrides(raw: unknown, overrides: PipelineOverrides): unknown {
  const root: RawObject = isObject(raw) ? { ...raw } : {};
  const sources: RawObject = isObject(root.sources) ? { ...root.sources } : {};
  for (const mode of ['udp', 'tcp', 'tls'] as const) {
    const address = overrides[mode];
    if (address === undefined) continue;
    const existing = Object.entries(sources).find(
      ([, source]) => isObject(source) && source.type === 'syslog' && source.mode === mode,
    );
    if (existing) {
      const [name, source] = existing;
      sources[name] = { ...(source as RawObject), address };
    } else {
      sources[mode] = { type: 'syslog', mode, address };
    }
  }
  root.sources = sources;
  return root;
}
