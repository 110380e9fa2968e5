/** The vhost-user specification as data: what the parser extracts from vhost-user.rst / vhost-user.txt. */

/** Who sends the request: the front-end (QEMU; "master" in old texts) or the back-end ("slave"). */
export type Direction = 'front-end' | 'back-end';

export interface MessageDef {
  readonly name: string;
  readonly id: number;
  readonly direction: Direction;
  /** Former names (e.g. VHOST_USER_SET_SLAVE_REQ_FD for VHOST_USER_SET_BACKEND_REQ_FD). */
  readonly aliases: readonly string[];
  /** Equivalent ioctl text as written ("VHOST_GET_FEATURES", "N/A"), or undefined when not stated. */
  readonly ioctl: string | undefined;
  readonly requestPayload: string | undefined;
  readonly replyPayload: string | undefined;
  /** Line of the reply payload field, when present. */
  readonly replyLine: number | undefined;
  /** 1-based line of the entry's heading in the document. */
  readonly line: number;
  /** Last line of the entry (its text runs from `line` to `endLine`). */
  readonly endLine: number;
}

export interface FeatureDef {
  readonly name: string;
  readonly bit: number;
  readonly line: number;
}

export interface HeaderFlagDef {
  /** "VERSION" (a mask), "REPLY", "NEED_REPLY". */
  readonly name: string;
  readonly mask: number;
  readonly line: number;
}

export type StatementKind = 'dependency' | 'order' | 'reply';

/** One sentence of the document that states a feature dependency, an order or a reply obligation. */
export interface SpecStatement {
  readonly kinds: readonly StatementKind[];
  /** The sentence, markup removed, whitespace collapsed. */
  readonly text: string;
  readonly line: number;
  /** The message entry the sentence belongs to, if any. */
  readonly message: string | undefined;
  /** VHOST_USER_* message names and feature names mentioned in it. */
  readonly mentions: readonly string[];
}

/** A sentence anywhere in the document (statements are the classified subset). */
export interface SpecSentence {
  readonly text: string;
  readonly line: number;
  readonly message: string | undefined;
}

/** A list item of the Communication section: messages needing a reply or carrying fds. */
export interface ListedRequirement {
  readonly message: string;
  /** Feature that conditions it ("(if VHOST_USER_PROTOCOL_F_LOG_SHMFD)"). */
  readonly ifFeature: string | undefined;
  readonly line: number;
  /** The sentence introducing the list. */
  readonly intro: string;
}

export interface SpecModel {
  readonly format: 'rst' | 'txt';
  /** Where the document came from (a path, or "built-in"). */
  readonly source: string;
  readonly frontEnd: readonly MessageDef[];
  readonly backEnd: readonly MessageDef[];
  readonly protocolFeatures: readonly FeatureDef[];
  /** Virtio feature bits the document defines for vhost-user (VHOST_USER_F_PROTOCOL_FEATURES = 30). */
  readonly virtioFeatures: readonly FeatureDef[];
  readonly headerFlags: readonly HeaderFlagDef[];
  readonly statements: readonly SpecStatement[];
  readonly sentences: readonly SpecSentence[];
  readonly replyRequired: readonly ListedRequirement[];
  readonly fdCarrying: readonly ListedRequirement[];
  /** Every VHOST_USER_* identifier mentioned, with the first line mentioning it. */
  readonly mentioned: ReadonlyMap<string, number>;
}

export function findMessage(m: SpecModel, name: string, direction?: Direction): MessageDef | undefined {
  const lists = direction === 'back-end' ? [m.backEnd] : direction === 'front-end' ? [m.frontEnd] : [m.frontEnd, m.backEnd];
  for (const list of lists) {
    const found = list.find((d) => d.name === name || d.aliases.includes(name));
    if (found) return found;
  }
  return undefined;
}

export function findFeature(m: SpecModel, name: string): FeatureDef | undefined {
  return m.protocolFeatures.find((f) => f.name === name) ?? m.virtioFeatures.find((f) => f.name === name);
}
