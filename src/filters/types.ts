/**
 * The filter grammar shared by segments, rule tags and SOP conditions: a JSON tree of `all` / `any` /
 * `not` over leaves `{field, op, value}`. Trees are stored as JSON (segments.definition, tags.rule, SOP
 * steps), so everything here is plain data; the registry (fields.ts) says what a leaf may contain.
 */
export type FilterNode = { all: FilterNode[] } | { any: FilterNode[] } | { not: FilterNode } | FilterLeaf;

export interface FilterLeaf {
  field: string;
  op: string;
  value?: unknown;
}

/** Limits that keep a stored or submitted tree cheap to validate, compile and plan. */
export const LIMITS = {
  /** Nodes on the path from the root to the deepest node (a lone leaf is depth 1). */
  depth: 10,
  leaves: 200,
  /** Any node at all, so a tree of empty groups cannot make validation walk forever. */
  nodes: 2_000,
  /** Items in one list value (in, has_any, ...). */
  list: 100,
  text: 200,
  days: 3650,
  /** Issues reported for one tree; more are noise to the person fixing it. */
  issues: 50,
} as const;
