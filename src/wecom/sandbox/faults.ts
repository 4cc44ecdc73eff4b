import { Rng } from './random.js';

/**
 * Fault injection for the server API. A fault matches an API path (`externalcontact/get`), a prefix
 * (`externalcontact/*`) or every API (`*`); it fires on a share of calls (`rate`, rolled from the
 * seeded stream so a run is repeatable) and/or a number of times (`count`), and then answers with an
 * errcode, an HTTP status, a delay, a dropped connection, or a delay followed by one of the others.
 */
export interface FaultSpec {
  api: string;
  /** Share of matching calls that fail, 0..1 (default 1). */
  rate?: number;
  /** How many times it fires before it is removed (default: until cleared). */
  count?: number;
  errcode?: number;
  errmsg?: string;
  /** An HTTP status (e.g. 502, 503) answered with an HTML body, as a gateway would. */
  httpStatus?: number;
  /** Waits this long before answering (alone: a slow but correct answer). */
  delayMs?: number;
  /** Destroys the connection without an answer. */
  drop?: boolean;
}

export interface Fault extends FaultSpec {
  id: string;
  hits: number;
}

export class FaultInjector {
  private faults: Fault[] = [];
  private rng: Rng;
  private counter = 0;

  constructor(seed: number) {
    this.rng = new Rng(seed, 'faults');
  }

  add(spec: FaultSpec): Fault {
    if (!spec.api) throw new RangeError('a fault needs an api (a path, a prefix ending in *, or *)');
    if (spec.rate !== undefined && !(spec.rate >= 0 && spec.rate <= 1)) throw new RangeError('rate must be between 0 and 1');
    if (spec.count !== undefined && !(Number.isInteger(spec.count) && spec.count > 0)) throw new RangeError('count must be a positive integer');
    if (spec.errcode === undefined && spec.httpStatus === undefined && spec.delayMs === undefined && !spec.drop) {
      throw new RangeError('a fault needs errcode, httpStatus, delayMs or drop');
    }
    if (spec.httpStatus !== undefined && !(spec.httpStatus >= 400 && spec.httpStatus <= 599)) throw new RangeError('httpStatus must be 4xx or 5xx');
    const fault: Fault = { ...spec, id: `f${++this.counter}`, hits: 0 };
    this.faults.push(fault);
    return fault;
  }

  list(): Fault[] {
    return this.faults.map((f) => ({ ...f }));
  }

  remove(id: string): boolean {
    const before = this.faults.length;
    this.faults = this.faults.filter((f) => f.id !== id);
    return this.faults.length !== before;
  }

  clear(): void {
    this.faults = [];
  }

  /** The fault that fires for this call, if any; counts it and retires exhausted ones. */
  take(api: string): Fault | undefined {
    for (const fault of this.faults) {
      if (!matches(fault.api, api)) continue;
      if (fault.rate !== undefined && fault.rate < 1 && this.rng.next() >= fault.rate) continue;
      fault.hits++;
      if (fault.count !== undefined && fault.hits >= fault.count) this.faults = this.faults.filter((f) => f !== fault);
      return { ...fault };
    }
    return undefined;
  }
}

function matches(pattern: string, api: string): boolean {
  if (pattern === '*') return true;
  if (pattern.endsWith('*')) return api.startsWith(pattern.slice(0, -1));
  return pattern === api;
}
