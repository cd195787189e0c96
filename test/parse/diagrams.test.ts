// docs/grammar.html is generated from the parser (scripts/gen-diagrams.ts);
// this golden test keeps it in step with the grammar. `-u` regenerates it.
import { expect, test } from 'vitest';
import { grammarDiagramsHtml, grammarHtmlPath } from '../../scripts/gen-diagrams.js';

test('docs/grammar.html matches the grammar', async () => {
  const html = grammarDiagramsHtml();
  for (const rule of ['program', 'cellDecl', 'modelDecl', 'trainSetting', 'primary']) expect(html).toContain(rule);
  await expect(html).toMatchFileSnapshot(grammarHtmlPath);
});
