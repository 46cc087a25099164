/**
 * `settings` over `defaults`, where a setting given as undefined keeps the default (a command
 * line's absent flag is undefined, and means "the default", not "none").
 */
export function withDefaults<D extends object, S extends object>(defaults: D, settings: S): D & S {
  const given = Object.fromEntries(Object.entries(settings).filter(([, value]) => value !== undefined));
  return { ...defaults, ...given } as D & S;
}
