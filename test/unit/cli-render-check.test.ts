import { describe, expect, it } from 'vitest';
import type { IngestCheckResult } from '../../cli/ingest-check.js';
import { renderCheck } from '../../cli/render-check.js';

const refused: IngestCheckResult = {
  accepted: false,
  problems: [
    {
      code: 'not-allowed',
      field: 'ibinder:binder',
      message:
        'files under prefix "inbox/erp/" (routing rule) may not go to binder PrjBBBB02, folder "Inbox"; the rule allows binder PrjAAAA01 (any folder)',
      fix: 'tag a target the rule allows',
    },
  ],
  target: { binderId: 'PrjBBBB02', folderPath: 'Inbox', source: { kind: 'tags' } },
  fileName: 'a.pdf',
  metadata: [],
  notes: [],
};

describe('renderCheck', () => {
  it('shows a target refused before its folder was looked up as it was asked for, with the allowlist problem', () => {
    const text = renderCheck(refused, './a.pdf').join('\n');
    expect(text).toContain('REJECTED  ./a.pdf would be rejected: 1 problem(s)');
    expect(text).toContain("  binder    PrjBBBB02 (from the object's ibinder:binder tag)");
    expect(text).toContain('  folder    Inbox\n');
    expect(text).toContain('1. ibinder:binder: files under prefix "inbox/erp/" (routing rule) may not go to binder PrjBBBB02');
  });

  it('shows a located folder with its path and id', () => {
    const located = {
      ...refused,
      target: {
        ...refused.target,
        binderId: 'PrjBBBB02',
        folderId: '66666666-6666-4666-8666-666666666666',
        source: { kind: 'tags' as const },
      },
    };
    expect(renderCheck(located, './a.pdf').join('\n')).toContain('  folder    Inbox (id 66666666-6666-4666-8666-666666666666)');
  });
});
