/**
 * Reads the reference drivers' INI dialect (Go's gcfg) into sections.
 *
 * The `ini` package does the assembly of sections and keys, but its own
 * lexical rules differ from gcfg in ways that matter for real files:
 * it splits section names on dots (`[VirtualCenter "10.0.0.1"]` would become
 * nested objects), keeps the quotes of `"value" ; comment`, has no
 * `\"`/`\\` escapes outside quotes and no line continuation. So a pre-step
 * lexes each line the way gcfg does (section headers with quoted
 * subsections, `;`/`#` comments, double quotes, backslash escapes, trailing
 * `\` continuation) and hands `ini` an unambiguous canonical text: each
 * section header replaced by an opaque token, each value JSON-quoted (which
 * `ini` decodes exactly). Section and key names are case-insensitive as in
 * gcfg; subsection names keep their case.
 *
 * Errors name the line and key, never the value (it may be a password).
 */
import ini from 'ini';
import { ConfigError, iniSectionLabel, type Setting } from './errors.js';

export interface IniSection {
  /** Lower-cased section name (`virtualcenter`). */
  name: string;
  /** Quoted subsection as written (`10.0.0.1`), if any. */
  subsection?: string;
  /** `[VirtualCenter "10.0.0.1"]` as first written, for messages. */
  label: string;
  line: number;
  /** Lower-cased key → value and where it was set. */
  values: Map<string, Setting>;
}

const HEADER = /^\[\s*([A-Za-z][A-Za-z0-9.-]*)\s*(?:"((?:[^"\\]|\\.)*)")?\s*\]\s*(?:[;#].*)?$/;
const KEY_LINE = /^([A-Za-z][A-Za-z0-9_-]*)\s*(?:=(.*))?$/;
const ESCAPES: Record<string, string> = { '\\': '\\', '"': '"', n: '\n', t: '\t', b: '\b' };

interface Decoded {
  value: string;
  /** The line ended in an unquoted backslash: the value continues on the next line. */
  continued: boolean;
  inQuote: boolean;
}

/** gcfg value lexing for one physical line, starting in or out of a quote. */
function decodeValuePart(raw: string, startInQuote: boolean): Decoded {
  let out = '';
  let pendingSpace = '';
  let inQuote = startInQuote;
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charAt(i);
    if (c === '\\') {
      if (i === raw.length - 1) return { value: out + pendingSpace, continued: true, inQuote };
      const next = raw.charAt(i + 1);
      // Unknown escapes are kept literally (gcfg rejects them) so `DOMAIN\user` works unescaped.
      out += pendingSpace + (ESCAPES[next] ?? `\\${next}`);
      pendingSpace = '';
      i++;
    } else if (inQuote) {
      if (c === '"') inQuote = false;
      else out += c;
    } else if (c === '"') {
      out += pendingSpace;
      pendingSpace = '';
      inQuote = true;
    } else if (c === ';' || c === '#') {
      break;
    } else if (c === ' ' || c === '\t') {
      if (out.length > 0) pendingSpace += c;
    } else {
      out += pendingSpace + c;
      pendingSpace = '';
    }
  }
  // Unquoted trailing blanks are dropped, as gcfg does.
  return { value: out, continued: false, inQuote };
}

interface SectionInfo {
  token: string;
  name: string;
  subsection?: string;
  label: string;
  line: number;
  keys: Map<string, { where: string; line: number }>;
}

function unescapeSubsection(s: string): string {
  return s.replace(/\\(.)/g, '$1');
}

/** Parse gcfg-style INI text. Throws ConfigError for lines it cannot read. */
export function readIni(text: string, source: string): IniSection[] {
  const lines = text.split(/\r?\n/);
  const sections = new Map<string, SectionInfo>();
  const canonical: string[] = [];
  let current: SectionInfo | undefined;

  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const line = (lines[i] ?? '').trim();
    if (line === '' || line.startsWith(';') || line.startsWith('#')) continue;

    if (line.startsWith('[')) {
      const m = HEADER.exec(line);
      if (!m) {
        throw new ConfigError(source, `line ${lineNo}`, 'malformed section header: use [Name] or [Name "subsection"]');
      }
      const written = m[1] ?? '';
      const sub = m[2] === undefined ? undefined : unescapeSubsection(m[2]);
      const id = `${written.toLowerCase()}\u0000${sub ?? ''}\u0000${sub === undefined ? 0 : 1}`;
      current = sections.get(id);
      if (!current) {
        current = { token: `s${sections.size}`, name: written.toLowerCase(), subsection: sub, label: iniSectionLabel(written, sub), line: lineNo, keys: new Map() };
        sections.set(id, current);
      }
      canonical.push(`[${current.token}]`);
      continue;
    }

    const m = KEY_LINE.exec(line);
    if (!m) throw new ConfigError(source, `line ${lineNo}`, "expected 'key = value', a [Section] header or a comment");
    const keyWritten = m[1] ?? '';
    if (!current) {
      throw new ConfigError(source, `line ${lineNo}`, `key '${keyWritten}' is outside any section: put it under a [Global] header`);
    }
    let value: string;
    // A line without '=' may be a password pasted on its own line: such a
    // "key" is named by its line number only, never by its text.
    let where = `${current.label} ${keyWritten}`;
    if (m[2] === undefined) {
      // gcfg: a key without '=' is a boolean set to true.
      value = 'true';
      where = `${current.label} line ${lineNo} (no '=')`;
    } else {
      let part = decodeValuePart(m[2].trim(), false);
      value = part.value;
      while (part.continued && i + 1 < lines.length) {
        i++;
        part = decodeValuePart(lines[i] ?? '', part.inQuote);
        value += part.value;
      }
      if (part.inQuote) {
        throw new ConfigError(source, `${current.label} ${keyWritten}`, `line ${lineNo}: unterminated quoted value (a '"' inside a value must be written \\")`);
      }
    }
    const key = keyWritten.toLowerCase();
    current.keys.set(key, { where, line: lineNo });
    canonical.push(`${key} = ${JSON.stringify(value)}`);
  }

  const decoded = ini.decode(canonical.join('\n')) as Record<string, Record<string, unknown> | undefined>;
  return [...sections.values()].map((s) => {
    const raw = decoded[s.token] ?? {};
    const values = new Map<string, Setting>();
    for (const [key, info] of s.keys) {
      const v = raw[key];
      // `ini` turns the strings true/false/null into JS values: turn them back.
      values.set(key, { value: v === undefined ? '' : String(v), where: info.where });
    }
    return { name: s.name, subsection: s.subsection, label: s.label, line: s.line, values };
  });
}
