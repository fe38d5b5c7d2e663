/** A job's priority: higher runs first. The bounds every way in (REST, CLI) checks against. */
export const PRIORITY_BOUNDS = { minimum: -100, maximum: 100 } as const;

/** A job submitted without one. */
export const DEFAULT_PRIORITY = 0;
