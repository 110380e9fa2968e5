/**
 * Breakpoints on migration states, offered as exception-breakpoint filters. Which status (or
 * event) of which side hits which filter, and whether QEMU itself holds the migration there.
 */
import type { SideName } from '../config';

export type StateFilterId = 'before-switchover' | 'failed' | 'cancelled' | 'postcopy-paused' | 'pass';

export interface StateFilter {
  id: StateFilterId;
  label: string;
  description: string;
  default: boolean;
  /** What a thread stopped there is labelled with. */
  stopLabel: string;
}

export const stateFilters: readonly StateFilter[] = [
  {
    id: 'before-switchover',
    label: 'Before switchover',
    description:
      "Sets the source's pause-before-switchover capability: QEMU holds the migration in pre-switchover with the guest stopped while you inspect both sides; continue sends migrate-continue.",
    default: false,
    stopLabel: 'Paused before switchover',
  },
  { id: 'failed', label: 'Migration failed', description: "Stops when a side's migration status becomes failed, with QEMU's error-desc.", default: true, stopLabel: 'Migration failed' },
  { id: 'cancelled', label: 'Migration cancelled', description: 'Stops when a migration is cancelled.', default: false, stopLabel: 'Migration cancelled' },
  {
    id: 'postcopy-paused',
    label: 'Postcopy paused',
    description: 'Stops when postcopy pauses (the stream broke or migrate-pause); continue recovers with migrate-recover on the destination and migrate resume=true on the source.',
    default: true,
    stopLabel: 'Postcopy paused',
  },
  {
    id: 'pass',
    label: 'Each dirty-bitmap pass',
    description: 'Stops at each MIGRATION_PASS event of the source (QEMU does not wait: the migration goes on while you look).',
    default: false,
    stopLabel: 'Dirty-bitmap pass',
  },
];

export function isStateFilterId(s: string): s is StateFilterId {
  return stateFilters.some((f) => f.id === s);
}

/** Why a side is shown stopped on a migration state. */
export interface StateHit {
  filter: StateFilterId;
  side: SideName;
  /** QEMU waits for us (pre-switchover, postcopy-paused) rather than going on. */
  held: boolean;
  text: string;
}

/** The hit a new migration status of a side causes, given the enabled filters. */
export function hitForStatus(enabled: ReadonlySet<StateFilterId>, side: SideName, status: string, errorDesc: string | undefined): StateHit | undefined {
  if (status === 'pre-switchover' && side === 'source' && enabled.has('before-switchover')) {
    return {
      filter: 'before-switchover', side, held: true,
      text: 'Before switchover: the source holds the migration in pre-switchover with its guest stopped; continue sends migrate-continue',
    };
  }
  if (status === 'failed' && enabled.has('failed')) {
    return { filter: 'failed', side, held: false, text: `Migration failed on the ${side}${errorDesc ? `: ${errorDesc}` : ' (QEMU gave no error-desc)'}` };
  }
  if (status === 'cancelled' && enabled.has('cancelled')) {
    return { filter: 'cancelled', side, held: false, text: `Migration cancelled on the ${side}` };
  }
  if (status === 'postcopy-paused' && enabled.has('postcopy-paused')) {
    return {
      filter: 'postcopy-paused', side, held: true,
      text: `Postcopy paused on the ${side}: continue recovers it (migrate-recover on the destination, migrate resume=true on the source)`,
    };
  }
  return undefined;
}

export function hitForPass(enabled: ReadonlySet<StateFilterId>, side: SideName, pass: number): StateHit | undefined {
  if (side !== 'source' || !enabled.has('pass')) return undefined;
  return { filter: 'pass', side, held: false, text: `Dirty-bitmap pass ${pass} (MIGRATION_PASS); QEMU goes on migrating while the session shows it` };
}
