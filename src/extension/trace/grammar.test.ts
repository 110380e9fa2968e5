import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

interface Rule { match: string; name?: string; captures?: Record<string, { name?: string }> }
interface Grammar { scopeName: string; patterns: { include: string }[]; repository: Record<string, Rule | { patterns: Rule[] }> }

const root = join(__dirname, '..', '..', '..');
const grammar = JSON.parse(readFileSync(join(root, 'syntaxes', 'qemu-trace.tmLanguage.json'), 'utf8')) as Grammar;
const rule = (k: string): Rule => grammar.repository[k] as Rule;

describe('qemu-trace TextMate grammar', () => {
  it('is contributed for the qemu-trace language', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { contributes: { languages: { id: string; filenamePatterns: string[] }[]; grammars: { language: string; scopeName: string; path: string }[] } };
    const lang = pkg.contributes.languages.find((l) => l.id === 'qemu-trace');
    assert.ok(lang?.filenamePatterns.includes('*trace*.log'));
    const g = pkg.contributes.grammars.find((x) => x.language === 'qemu-trace');
    assert.equal(g?.scopeName, grammar.scopeName);
    assert.equal(g?.path, './syntaxes/qemu-trace.tmLanguage.json');
  });

  it('matches every prefix form and marks event names and numbers', () => {
    const tid = new RegExp(rule('tid-prefix').match).exec('1234@1700000000.000100:multifd_send channel 1 packet_num 7 flags 0x1');
    assert.equal(tid?.[1], '1234');
    assert.equal(tid?.[5], 'multifd_send');
    const iso = new RegExp(rule('iso-prefix').match).exec('2026-11-21T20:48:51.831569Z migration_set_incoming_channel ioc=0x5562350b3c00 ioctype=qio-channel-socket');
    assert.equal(iso?.[3], 'migration_set_incoming_channel');
    const bare = new RegExp(rule('bare-event').match).exec('migration_bitmap_sync_start ');
    assert.equal(bare?.[1], 'migration_bitmap_sync_start');
    assert.equal(new RegExp(rule('bare-event').match).exec('qemu-system-x86_64: terminating'), null);
    const args = (grammar.repository.args as { patterns: Rule[] }).patterns;
    const hex = args.find((r) => r.name?.includes('hex'))!;
    assert.deepEqual('ioc=0x5562350b3c00 n=12'.match(new RegExp(hex.match, 'g')), ['0x5562350b3c00']);
    const dec = args.find((r) => r.name?.includes('decimal'))!;
    assert.deepEqual('channel 1 packet_num 42 rb=pc.ram x=-3'.match(new RegExp(dec.match, 'g')), ['1', '42', '-3']);
  });
});
