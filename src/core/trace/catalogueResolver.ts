/**
 * The one place that decides which catalogue decodes a trace, for every entry point (the
 * trace summary, the migration view and its follow mode, the vhost-user check, `qmig`).
 *
 * Candidates: the user's QEMU trees (workspace folders holding trace-events, the
 * qemuSourceDir setting, the current folder of `qmig`), then the built-in catalogues.
 * Before decoding, each candidate decodes a sample from the start of the trace. A user tree
 * is used when most event lines of the sample fit it and no other candidate fits clearly
 * better (CLEARLY of the lines more); otherwise the best-fitting catalogue is used and the
 * choice says so. A catalogue asked for by name (a command-line option) is
 * always used, and a poor fit is said. The choice is plain data that every entry point
 * shows: which catalogue, why, how well it fits, and a warning on a mismatch.
 */
import { existsSync } from 'node:fs';
import { stat, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { catalogueFromText, loadCatalogueFromDir, type Catalogue } from './catalogue';
import { builtinCatalogue, builtinVersions, resolveBuiltinVersion } from './catalogues/index';
import { fitsOfSample, fitScore, traceSample, SAMPLE_BYTES, type SampleFit } from './versionGuess';

/** How a candidate came to be considered. */
export type CatalogueOrigin = 'workspace' | 'setting' | 'current folder' | 'option' | 'built-in';

/** A QEMU tree, build folder or trace-events file offered as a catalogue. */
export interface TreeCandidate {
  readonly path: string;
  readonly origin: Exclude<CatalogueOrigin, 'built-in' | 'option'>;
}

export type ForcedCatalogue = { readonly path: string } | { readonly version: string };

export interface CatalogueFit extends SampleFit {
  readonly label: string;
  readonly origin: CatalogueOrigin;
  /** Share of the sample's event lines decoded, null when the sample has none. */
  readonly share: number | null;
}

/** Which catalogue decoded a trace and why (structured-clonable: it crosses to the webview). */
export interface CatalogueChoice {
  /** "built-in QEMU 7.2", "trace-events of qemu (workspace folder)". */
  readonly label: string;
  /** The catalogue's source: a folder, a file or builtin:qemu-V. */
  readonly source: string;
  readonly origin: CatalogueOrigin;
  /** The built-in version that fits the trace best: "QEMU ≈ version". */
  readonly version: string;
  /** One sentence: why this catalogue. */
  readonly reason: string;
  /** Share of the sample's event lines it decodes, null when the sample has no event lines. */
  readonly share: number | null;
  /** Event lines in the sample the choice was made on. */
  readonly sampleEventLines: number;
  /** Set when the trace does not fit the catalogue the user has (or asked for), or fits none well. */
  readonly warning: string | null;
  /** Every candidate's fit, best first. */
  readonly fits: readonly CatalogueFit[];
}

export interface ResolvedCatalogue {
  readonly catalogue: Catalogue;
  readonly choice: CatalogueChoice;
}

export interface ResolveOptions {
  /** The user's trees, most preferred first (see TreeCandidate). */
  readonly trees?: readonly TreeCandidate[] | undefined;
  /** A catalogue asked for by name: always used. */
  readonly forced?: ForcedCatalogue | undefined;
  readonly sampleBytes?: number | undefined;
  /** Problems loading a tree (syntax errors of its trace-events, an unreadable folder). */
  readonly onTreeProblem?: ((message: string) => void) | undefined;
}

/** A user tree is used when at least this share of the sample's event lines fit it... */
export const MOST = 0.5;
/** ...and no other candidate decodes this share of the lines more. */
export const CLEARLY = 0.05;

/** A loaded candidate. */
interface Loaded { readonly catalogue: Catalogue; readonly label: string; readonly origin: CatalogueOrigin; readonly user: boolean }

/** Loads a trace-events catalogue from a folder (every trace-events under it) or from one file. */
export async function loadCatalogueAt(path: string): Promise<Catalogue> {
  const st = await stat(path).catch(() => undefined);
  if (!st) throw new Error(`cannot read ${path}: no such file or directory`);
  return st.isDirectory() ? loadCatalogueFromDir(path) : catalogueFromText(await readFile(path, 'utf8'), path);
}

/** Whether dir holds QEMU trace-events: a source tree (migration/trace-events) or a build tree (trace-events-all). */
export function isQemuTree(dir: string): boolean {
  return ['migration/trace-events', 'trace-events-all', 'trace/trace-events-all'].some((f) => existsSync(join(dir, f)));
}

/** The candidates that are QEMU trees, in the order given. */
export function qemuTreesAmong(candidates: readonly TreeCandidate[]): TreeCandidate[] {
  return candidates.filter((c) => isQemuTree(c.path));
}

const builtinLabel = (v: string): string => `built-in QEMU ${v}`;
const treeLabel = (path: string, origin: CatalogueOrigin): string => `trace-events of ${basename(path) || path} (${origin})`;
const pct = (x: number | null): string => (x === null ? 'n/a' : `${Math.round(x * 100)} %`);

/**
 * Chooses among loaded candidates from their fits on one sample. Pure: the tests drive it
 * with samples of their own.
 */
export function chooseFromSample(sample: Buffer, candidates: readonly Loaded[], forced: Loaded | undefined): ResolvedCatalogue {
  const all = forced && !candidates.includes(forced) ? [forced, ...candidates] : [...candidates];
  const sampleFits = fitsOfSample(sample, all.map((c) => c.catalogue));
  const raw = all.map((c, i) => ({ c, fit: sampleFits[i]! }));
  // Every event line is decoded, unknown or malformed; without a line prefix a name no
  // catalogue knows is not an event at all, so the most any catalogue saw is the count.
  const lines = Math.max(0, ...raw.map(({ fit }) => fit.decoded + fit.unknown + fit.malformed));
  const share = (f: SampleFit): number | null => (lines > 0 ? f.decoded / lines : null);
  const fits: CatalogueFit[] = raw.map(({ c, fit }) => ({ ...fit, label: c.label, origin: c.origin, share: share(fit) }));
  const builtins = raw.filter(({ c }) => c.origin === 'built-in');
  const nearest = builtins.reduce<typeof builtins[number] | undefined>((b, x) => (b === undefined || fitScore(x.fit) > fitScore(b.fit) ? x : b), undefined);
  const version = nearest ? nearest.c.catalogue.source.replace(/^builtin:qemu-/, '') : builtinVersions[builtinVersions.length - 1]!;
  // Best overall: highest score; ties keep candidate order (user trees first, newest built-in first).
  const best = raw.reduce((b, x) => (fitScore(x.fit) > fitScore(b.fit) ? x : b));
  const of = (f: SampleFit): string => `${f.decoded} of ${lines} event lines`;
  const sorted = [...fits].sort((a, b) => fitScore(b) - fitScore(a));

  const pick = (x: typeof raw[number], reason: string, warning: string | null): ResolvedCatalogue => ({
    catalogue: x.c.catalogue,
    choice: {
      label: x.c.label, source: x.c.catalogue.source, origin: x.c.origin, version, reason, share: share(x.fit),
      sampleEventLines: lines, warning, fits: sorted,
    },
  });
  /** Whether the best candidate decodes clearly more lines than x. */
  const outdone = (x: typeof raw[number]): boolean => best !== x && lines > 0 && best.fit.decoded - x.fit.decoded >= Math.max(2, CLEARLY * lines);
  const better = (x: typeof raw[number]): string | null => (outdone(x) ? `${best.c.label} fits ${of(best.fit)}` : null);

  if (forced) {
    const x = raw.find(({ c }) => c === forced)!;
    const s = share(x.fit);
    const poor = s !== null && s < MOST;
    const alt = better(x);
    const warning = poor
      ? `Most event lines do not fit ${x.c.label}, which was asked for: it decodes ${of(x.fit)}${alt ? `; ${alt}` : ''}.`
      : alt ? `${x.c.label} decodes ${of(x.fit)}; ${alt}.` : null;
    return pick(x, `asked for (${x.c.origin}); it decodes ${lines ? of(x.fit) : 'a sample without event lines'}`, warning);
  }
  if (lines === 0) {
    const first = raw.find(({ c }) => c.user) ?? raw.find(({ c }) => c.catalogue.source === `builtin:qemu-${builtinVersions[builtinVersions.length - 1]}`) ?? raw[0]!;
    return pick(first, `the first ${Math.round(SAMPLE_BYTES / 1024)} KiB hold no event lines to compare catalogues on; ${first.c.user ? 'the user\'s tree' : 'the newest built-in'} is used`, null);
  }
  const users = raw.filter(({ c }) => c.user);
  const fitting = users.find((x) => (share(x.fit) ?? 0) >= MOST && !outdone(x));
  if (fitting) {
    const rest = lines - fitting.fit.decoded;
    return pick(fitting, `the ${fitting.c.origin}'s QEMU tree; it decodes ${of(fitting.fit)}`, rest > 0 && rest >= CLEARLY * lines ? `${rest} of ${lines} event lines do not fit ${fitting.c.label}.` : null);
  }
  const s = share(best.fit) ?? 0;
  const mismatch = users.length
    ? `The trace does not fit ${users.map(({ c, fit }) => `${c.label} (it decodes ${of(fit)})`).join(', ')}: decoded with ${best.c.label} instead, which fits ${of(best.fit)}.`
    : null;
  const none = s < MOST ? `No catalogue fits most event lines: the best, ${best.c.label}, decodes ${of(best.fit)}.` : null;
  return pick(best, `fits best: it decodes ${of(best.fit)} (${pct(s)})`, [mismatch, none].filter((x) => x !== null).join(' ') || null);
}

/** The built-in candidates, newest first. */
function builtinCandidates(): Loaded[] {
  return [...builtinVersions].reverse().map((v) => ({ catalogue: builtinCatalogue(v), label: builtinLabel(v), origin: 'built-in' as const, user: false }));
}

async function loadTrees(trees: readonly TreeCandidate[], onProblem?: (m: string) => void): Promise<Loaded[]> {
  const out: Loaded[] = [];
  const seen = new Set<string>();
  for (const t of trees) {
    if (seen.has(t.path)) continue;
    seen.add(t.path);
    try {
      const catalogue = await loadCatalogueAt(t.path);
      for (const e of catalogue.errors.slice(0, 10)) onProblem?.(`${e.file}:${e.line}:${e.column}: ${e.message}`);
      out.push({ catalogue, label: treeLabel(t.path, t.origin), origin: t.origin, user: true });
    } catch (e) {
      onProblem?.(`${t.path}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  return out;
}

async function loadForced(f: ForcedCatalogue, builtins: readonly Loaded[]): Promise<Loaded> {
  if ('version' in f) {
    const key = resolveBuiltinVersion(f.version);
    return builtins.find((b) => b.catalogue.source === `builtin:qemu-${key}`)!;
  }
  return { catalogue: await loadCatalogueAt(f.path), label: `trace-events of ${f.path}`, origin: 'option', user: true };
}

/**
 * Resolves the catalogue of each trace (the user's trees are loaded once for all of them).
 * Throws only for a forced catalogue that cannot be loaded, or a trace that cannot be read.
 */
export async function resolveCatalogues(paths: readonly string[], opts: ResolveOptions = {}): Promise<ResolvedCatalogue[]> {
  const builtins = builtinCandidates();
  const forced = opts.forced ? await loadForced(opts.forced, builtins) : undefined;
  const trees = forced ? [] : await loadTrees(opts.trees ?? [], opts.onTreeProblem);
  const candidates = [...trees, ...builtins];
  return Promise.all(paths.map(async (p) => chooseFromSample(await traceSample(p, opts.sampleBytes), candidates, forced)));
}

export async function resolveCatalogue(path: string, opts: ResolveOptions = {}): Promise<ResolvedCatalogue> {
  return (await resolveCatalogues([path], opts))[0]!;
}

/** The catalogue of a trace already in memory (an editor buffer), chosen on its first lines. */
export async function resolveCatalogueOfText(text: string, opts: ResolveOptions = {}): Promise<ResolvedCatalogue> {
  const builtins = builtinCandidates();
  const forced = opts.forced ? await loadForced(opts.forced, builtins) : undefined;
  const trees = forced ? [] : await loadTrees(opts.trees ?? [], opts.onTreeProblem);
  const head = Buffer.from(text.slice(0, opts.sampleBytes ?? SAMPLE_BYTES), 'utf8');
  const cut = head.lastIndexOf(10) + 1;
  return chooseFromSample(cut > 0 ? head.subarray(0, cut) : head, [...trees, ...builtins], forced);
}

/** The choice in one line, for logs and the command line: label, reason and any warning. */
export function choiceText(c: CatalogueChoice): string {
  return `catalogue ${c.label}: ${c.reason}${c.warning ? `. WARNING: ${c.warning}` : ''}`;
}

/**
 * The choice after the whole trace was read: a read whose event lines mostly do not fit
 * (the sample came from the start only) gets a warning if it had none.
 */
export function choiceAfterRead(c: CatalogueChoice, counts: { events: number; unknown: number; malformed: number }): CatalogueChoice {
  if (c.warning) return c;
  const lines = counts.events + counts.malformed;
  const bad = counts.unknown + counts.malformed;
  if (lines === 0 || bad / lines < MOST) return c;
  return { ...c, warning: `${bad} of ${lines} event lines of the whole trace do not fit ${c.label} (${counts.unknown} unknown, ${counts.malformed} malformed).` };
}

/** The catalogue for a live QEMU whose version is known (its QMP greeting) before its log has lines. */
export interface VersionCatalogue {
  readonly catalogue: Catalogue;
  /** What decodes, for messages: `trace-events files of /src/qemu`, `the built-in QEMU 7.2 catalogue`. */
  readonly description: string;
}

function versionRank(v: string): number {
  const [a = 0, b = 0, c = 0] = v.split('.').map((x) => Number(x) || 0);
  return a * 1e6 + b * 1e3 + c;
}

/** The built-in version of a QEMU version, or the nearest one when there is none of its own. */
export function nearestBuiltinVersion(version: string): { key: string; exact: boolean } {
  try {
    return { key: resolveBuiltinVersion(version), exact: true };
  } catch {
    const r = versionRank(version);
    const key = [...builtinVersions].sort((x, y) => Math.abs(versionRank(x) - r) - Math.abs(versionRank(y) - r))[0]!;
    return { key, exact: false };
  }
}

/**
 * A live QEMU's catalogue: the `trace-events` files of the tree given, else the built-in
 * catalogue of its version, else the built-in nearest to it (said so).
 */
export async function catalogueForQemuVersion(version: string, traceEventsDir: string | undefined): Promise<VersionCatalogue> {
  if (traceEventsDir !== undefined) {
    return { catalogue: await loadCatalogueFromDir(traceEventsDir), description: `trace-events files of ${traceEventsDir}` };
  }
  const { key, exact } = nearestBuiltinVersion(version);
  return {
    catalogue: builtinCatalogue(key),
    description: exact ? `the built-in QEMU ${key} catalogue` : `the built-in QEMU ${key} catalogue (nearest to ${version}; set "traceEventsDir" to a QEMU ${version} tree for its exact formats)`,
  };
}
