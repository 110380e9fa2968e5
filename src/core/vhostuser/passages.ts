import type { SpecModel } from './model';
import { locate } from './rules';

/**
 * Sentences of the specification that a diagnosis of a back-end's death quotes. Each is found by
 * searching the parsed document (so the line is right for every version); one a document lacks is
 * simply not cited. The built-in model carries them as generated data.
 */
export type PassageId =
  /** ADD_MEM_REG: exactly one file descriptor comes with the message. */
  | 'add-mem-reg-one-fd'
  /** ADD_MEM_REG: in postcopy the back-end replies with the region's base, and SET_MEM_TABLE's postcopy rules apply. */
  | 'add-mem-reg-postcopy'
  /** SET_MEM_TABLE (postcopy): the front-end acknowledges the replies with an empty message. */
  | 'set-mem-table-postcopy-ack'
  /** Communication: a back-end that detects an error such as incompatible features may close the connection. */
  | 'backend-may-close';

export interface Passage {
  /** The sentence (or consecutive sentences), markup removed. */
  readonly text: string;
  /** 1-based line of its first sentence. */
  readonly line: number;
}

interface PassageSpec {
  readonly phrases: readonly RegExp[];
  readonly inMessage?: string;
  /** Further sentences of the same entry, up to and including the one matching this. */
  readonly through?: RegExp;
}

const SPECS: Readonly<Record<PassageId, PassageSpec>> = {
  'add-mem-reg-one-fd': { phrases: [/^Exactly one file descriptor/], inMessage: 'VHOST_USER_ADD_MEM_REG' },
  'add-mem-reg-postcopy': { phrases: [/^In postcopy mode/, /replies with the bases?/], inMessage: 'VHOST_USER_ADD_MEM_REG', through: /apply to VHOST_USER_ADD_MEM_REG/ },
  'set-mem-table-postcopy-ack': { phrases: [/empty VHOST_USER_SET_MEM_TABLE/, /acknowledgement/], inMessage: 'VHOST_USER_SET_MEM_TABLE' },
  'backend-may-close': { phrases: [/(back-end|slave)\b.*detects some error/, /close the connection/] },
};

export const PASSAGE_IDS = Object.keys(SPECS) as PassageId[];

/** The passages present in a parsed document. */
export function findPassages(model: SpecModel): Partial<Record<PassageId, Passage>> {
  const out: Partial<Record<PassageId, Passage>> = {};
  for (const id of PASSAGE_IDS) {
    const spec = SPECS[id];
    const first = locate(model, spec.phrases, spec.inMessage);
    if (!first) continue;
    let text = first.text;
    if (spec.through) {
      const at = model.sentences.indexOf(first);
      for (let i = at + 1; i < model.sentences.length && i <= at + 4 && !spec.through.test(text); i++) {
        const next = model.sentences[i];
        if (!next || next.message !== first.message) break;
        text = `${text} ${next.text}`;
      }
      if (!spec.through.test(text)) text = first.text;
    }
    out[id] = { text, line: first.line };
  }
  return out;
}
