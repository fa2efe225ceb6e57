/**
 * `${VAR}` and `${VAR:-default}` in string values of the pipeline file are replaced from the
 * environment, so secrets and addresses can come from the deployment (`$${...}` keeps a literal `${`).
 * A variable that is unset and has no default is an error naming the key path.
 */
export interface InterpolationProblem {
  path: string;
  variable: string;
}

const PATTERN = /\$(\$?)\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

export function interpolateEnv(
  value: unknown,
  env: NodeJS.ProcessEnv,
  problems: InterpolationProblem[],
  path: string[] = [],
): unknown {
  if (typeof value === 'string') {
    if (!value.includes('${')) return value;
    return value.replace(PATTERN, (whole, escaped: string, name: string, fallback: string | undefined) => {
      if (escaped) return whole.slice(1);
      const found = env[name];
      if (found !== undefined && found !== '') return found;
      if (fallback !== undefined) return fallback;
      problems.push({ path: path.join('.'), variable: name });
      return '';
    });
  }
  if (Array.isArray(value)) return value.map((item, i) => interpolateEnv(item, env, problems, [...path, String(i)]));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = interpolateEnv(item, env, problems, [...path, key]);
    return out;
  }
  return value;
}
