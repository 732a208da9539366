/**
 * XML text primitives: escaping what we send and decoding entity references
 * in what we receive. Kept apart from the envelope builder so that both the
 * builder and the parser use the exact same rules.
 */
import { VsphereFault } from '../faults.js';

// XML 1.0 cannot carry most C0 control characters at all (not even as &#n;),
// nor lone surrogates or U+FFFE/U+FFFF. Sending them would make vCenter reject
// the whole envelope with an opaque parse error, so we refuse them up front.
// eslint-disable-next-line no-control-regex
const FORBIDDEN = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
  // Attribute-value normalisation and line-ending handling would otherwise
  // turn these into spaces or \n on the server side.
  '\r': '&#xD;',
  '\t': '&#x9;',
  '\n': '&#xA;',
};

/** Escapes text for element content and attribute values alike. */
export function escapeXml(text: string): string {
  if (FORBIDDEN.test(text)) {
    throw new VsphereFault('InvalidArgument', 'a string sent to vCenter contains a control character or unpaired surrogate that XML 1.0 cannot carry');
  }
  return text.replace(/[&<>"'\r\t\n]/g, (c) => ESCAPES[c]!);
}

const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/**
 * Decodes the five predefined entities and numeric character references.
 * fast-xml-parser leaves numeric references (which Go's encoder, and so the
 * simulator, emits for quotes and newlines) undecoded unless HTML entities are
 * enabled, which would also decode names XML does not define.
 */
export function decodeEntities(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (whole, ref: string) => {
    if (ref[0] === '#') {
      const code = ref[1] === 'x' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      return Number.isFinite(code) && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    }
    return NAMED[ref] ?? whole;
  });
}
