/**
 * The QEMU version of a source tree and the tracetool rules that version applies.
 *
 * Facts read from tracetool's sources (scripts/tracetool/__init__.py and backend/log.py) of
 * QEMU 7.2, 10.0.2 and 10.2.2:
 * - up to 9.0 the `vcpu` property adds a hidden first argument (the CPU, printed as `cpu=%p `);
 *   from 9.1 it is still accepted but adds nothing, and a format may not contain `\n` anywhere
 *   (up to 9.0 only a final `\n` is refused);
 * - up to 10.1 the text before `, "` is read as a second (translation-time) format;
 * - from 10.2 only `disable` is a property, and the log backend's Rust output reads a format
 *   only as string literals, PRI[diuxX](8|16|32|64|PTR|MAX) macros and spaces.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export interface QemuVersion {
  readonly major: number;
  readonly minor: number;
  readonly micro: number;
  readonly text: string;
}

export interface TracetoolRules {
  /** Short name shown in messages, e.g. "QEMU 9.1 to 10.1". */
  readonly label: string;
  readonly properties: readonly string[];
  /** `vcpu` adds the CPU as a hidden first argument of every call (and `cpu=%p ` to the format). */
  readonly vcpuAddsCpuArgument: boolean;
  /** A `\n` anywhere in a format is refused (else only at its end). */
  readonly newlineAnywhere: boolean;
  /** `"a", "b"` is read as a translation-time format and a format. */
  readonly secondFormat: boolean;
  /** Formats must be made only of string literals and PRI macros (Rust output of the log backend). */
  readonly formatTokensOnly: boolean;
}

const before91: TracetoolRules = {
  label: 'QEMU up to 9.0', properties: ['disable', 'vcpu'], vcpuAddsCpuArgument: true, newlineAnywhere: false, secondFormat: true, formatTokensOnly: false,
};
const from91: TracetoolRules = {
  label: 'QEMU 9.1 to 10.1', properties: ['disable', 'vcpu'], vcpuAddsCpuArgument: false, newlineAnywhere: true, secondFormat: true, formatTokensOnly: false,
};
const from102: TracetoolRules = {
  label: 'QEMU 10.2 and later', properties: ['disable'], vcpuAddsCpuArgument: false, newlineAnywhere: true, secondFormat: false, formatTokensOnly: true,
};

export function parseQemuVersion(text: string): QemuVersion | undefined {
  const m = /^v?(\d+)\.(\d+)(?:\.(\d+))?/.exec(text.trim());
  if (!m) return undefined;
  return { major: Number(m[1]), minor: Number(m[2]), micro: Number(m[3] ?? 0), text: m[0].replace(/^v/, '') };
}

function atLeast(v: QemuVersion, major: number, minor: number, micro: number): boolean {
  if (v.major !== major) return v.major > major;
  if (v.minor !== minor) return v.minor > minor;
  return v.micro >= micro;
}

/** The rules of a version; a development version x.y.50 has the rules of the next release. Unknown: the newest. */
export function rulesFor(version: QemuVersion | undefined): TracetoolRules {
  if (version === undefined) return from102;
  if (atLeast(version, 10, 1, 50)) return from102;
  if (atLeast(version, 9, 0, 50)) return from91;
  return before91;
}

export interface TreeVersion {
  readonly version: QemuVersion | undefined;
  /** Where it was read: a VERSION file, a folder named like a version (v9.0.0, 10.2.50), or nowhere. */
  readonly from: string;
}

/**
 * The version of the QEMU tree a file belongs to: the VERSION file of the nearest folder
 * above it that has one, else the nearest folder named like a version. Cached per folder.
 */
export class TreeVersions {
  private readonly cache = new Map<string, TreeVersion>();

  of(file: string): TreeVersion {
    return this.ofDir(dirname(file));
  }

  private ofDir(dir: string): TreeVersion {
    const known = this.cache.get(dir);
    if (known) return known;
    let found: TreeVersion | undefined;
    const versionFile = join(dir, 'VERSION');
    if (existsSync(versionFile)) {
      try {
        const v = parseQemuVersion(readFileSync(versionFile, 'utf8'));
        if (v) found = { version: v, from: versionFile };
      } catch {
        // unreadable: look further up
      }
    }
    if (!found) {
      const named = /^v?\d+\.\d+(\.\d+)?$/.test(basename(dir)) ? parseQemuVersion(basename(dir)) : undefined;
      if (named) found = { version: named, from: dir };
    }
    if (!found) {
      const parent = dirname(dir);
      found = parent === dir ? { version: undefined, from: '' } : this.ofDir(parent);
    }
    this.cache.set(dir, found);
    return found;
  }

  clear(): void {
    this.cache.clear();
  }
}
