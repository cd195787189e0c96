// Formats emitted TypeScript with prettier (deterministic for a given
// prettier version; the golden files pin it).
import { format } from 'prettier';

export async function formatTypeScript(text: string): Promise<string> {
  return format(text, { parser: 'typescript', singleQuote: true, printWidth: 110, trailingComma: 'all' });
}
