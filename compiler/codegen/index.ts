// `rnnc compile`: a lowered model -> a formatted, standalone TypeScript module.
import { formatTypeScript } from './format.js';
import { emitModule, type EmitOptions } from './module.js';

export { CodegenError, type EmitOptions } from './module.js';

export async function compileToTypeScript(o: EmitOptions): Promise<string> {
  return formatTypeScript(emitModule(o));
}
