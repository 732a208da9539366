/**
 * Label and field selectors as the real API server parses them, limited to
 * the operators clients send: `k=v`, `k==v`, `k!=v`, `k`, `!k`,
 * `k in (a,b)`, `k notin (a,b)` for labels; `path=v`, `path==v`, `path!=v`
 * over dotted object paths (`metadata.name`, `spec.nodeName`, ...) for fields.
 */
import { isObject, type Json, type JsonObject } from './kube-patch.js';

export type ObjectPredicate = (object: JsonObject) => boolean;

/** Split on commas that are not inside parentheses (`a in (x,y),b=c`). */
function splitTerms(selector: string): string[] {
  const terms: string[] = [];
  let depth = 0;
  let current = '';
  for (const char of selector) {
    if (char === '(') depth += 1;
    if (char === ')') depth -= 1;
    if (char === ',' && depth === 0) {
      terms.push(current.trim());
      current = '';
    } else {
      current += char;
    }
  }
  if (current.trim()) terms.push(current.trim());
  return terms.filter((term) => term.length > 0);
}

function labelsOf(object: JsonObject): Record<string, string> {
  const metadata = object['metadata'];
  const labels = isObject(metadata) ? metadata['labels'] : undefined;
  const out: Record<string, string> = {};
  if (isObject(labels)) for (const [key, value] of Object.entries(labels)) out[key] = String(value);
  return out;
}

/** Throws on syntax it does not know, so a test never silently matches everything. */
export function parseLabelSelector(selector: string | null): ObjectPredicate {
  if (!selector) return () => true;
  const checks = splitTerms(selector).map((term): ((labels: Record<string, string>) => boolean) => {
    const setMatch = /^([^\s!=]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term);
    if (setMatch) {
      const [, key = '', operator, list = ''] = setMatch;
      const values = list.split(',').map((value) => value.trim());
      return operator === 'in'
        ? (labels) => key in labels && values.includes(labels[key] ?? '')
        : (labels) => !(key in labels) || !values.includes(labels[key] ?? '');
    }
    const comparison = /^([^\s!=]+)\s*(==|=|!=)\s*([^\s]*)$/.exec(term);
    if (comparison) {
      const [, key = '', operator, value = ''] = comparison;
      return operator === '!=' ? (labels) => labels[key] !== value : (labels) => labels[key] === value;
    }
    if (/^![^\s!=]+$/.test(term)) return (labels) => !(term.slice(1) in labels);
    if (/^[^\s!=()]+$/.test(term)) return (labels) => term in labels;
    throw new Error(`unable to parse label selector term "${term}"`);
  });
  return (object) => {
    const labels = labelsOf(object);
    return checks.every((check) => check(labels));
  };
}

function valueAt(object: JsonObject, path: string): string {
  let node: Json | undefined = object;
  for (const part of path.split('.')) node = isObject(node) ? node[part] : undefined;
  return node === undefined || node === null ? '' : String(node);
}

export function parseFieldSelector(selector: string | null): ObjectPredicate {
  if (!selector) return () => true;
  const checks = splitTerms(selector).map((term): ObjectPredicate => {
    const match = /^([^\s!=]+)\s*(==|=|!=)\s*(.*)$/.exec(term);
    if (!match) throw new Error(`unable to parse field selector term "${term}"`);
    const [, path = '', operator, value = ''] = match;
    return operator === '!=' ? (object) => valueAt(object, path) !== value : (object) => valueAt(object, path) === value;
  });
  return (object) => checks.every((check) => check(object));
}
