// Hostile text for an API fuzzer: the strings that break parsers, routers, databases and
// templates, and the ways of writing them into a URL. Markers that would look like a leaked
// stack or driver message (see fuzz-oracle.ts) are left out, since answers may echo input.
import fc from 'fast-check';

/** Characters that end lines, strings or headers, or that Unicode treats specially. */
export const CONTROL_CHARS = [
  '\u0000',
  '\r',
  '\n',
  '\r\n',
  '\t',
  '\u0001',
  '\u001b',
  '\u007f',
  '\u0085',
  '\u00a0',
  '\u2028',
  '\u202e',
  '\u200b',
  '\ufeff',
  '\ufffd',
  '\ud800',
  '\udfff',
];

const SPECIAL_STRINGS = [
  '',
  ' ',
  '.',
  '..',
  '../..',
  '../../etc/passwd',
  '%2e%2e',
  '%00',
  'a%00b',
  '%ff',
  '%',
  '%zz',
  '%c0%ae',
  '/',
  '\\',
  '?',
  '#',
  '&',
  '=',
  '*',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  "' OR '1'='1",
  '"; DROP TABLE applications; --',
  "'); DELETE FROM endpoints; --",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a template injection attempt, on purpose
  '${7*7}',
  '{{7*7}}',
  '<script>alert(1)</script>',
  'null',
  'undefined',
  'true',
  'NaN',
  '-1',
  '0',
  '1e309',
  'app_',
  'app_0000000000000000000000',
  'ep_0000000000000000000000',
  'msg_0000000000000000000000',
  'é',
  '𝒜𝒜',
  '👩‍👩‍👧',
  'a\r\nX-Injected: 1',
  'a\nb',
  '\u0000',
  'first\u0000',
  'user.created\u0000x',
];

/** Numbers as text at the edges of every integer range and beyond. */
export const NUMBER_TEXTS = [
  '0',
  '-0',
  '1',
  '-1',
  '1.5',
  '250',
  '251',
  '2147483648',
  '9007199254740993',
  '1e3',
  '1e309',
  '-1e309',
  'NaN',
  'Infinity',
  '0x10',
  ' 1',
  '1 ',
  '+1',
  '',
  'true',
  'null',
  '[]',
];

/** Times that pass (or nearly pass) an RFC 3339 check but trouble a date parser or a column. */
export const DATE_TEXTS = [
  '9999-12-31T23:59:60Z',
  '2024-06-30T23:59:60.999Z',
  '0000-01-01T00:00:00Z',
  '1969-12-31T23:59:59.999Z',
  '9999-12-31T23:59:59.999999999Z',
  '2024-02-30T00:00:00Z',
  '2024-01-01T00:00:00+23:59',
  '2024-01-01T00:00:00-00:00',
  '+275760-09-13T00:00:00Z',
  '2024-01-01',
  '2024-01-01 00:00:00Z',
];

/** JSON numbers at the edges (JSON.stringify writes NaN and infinities as null). */
export const EDGE_NUMBERS = [
  0,
  -0,
  -1,
  1.5,
  2 ** 31,
  -(2 ** 31) - 1,
  2 ** 53 + 2,
  1e308,
  -1e308,
  Number.MIN_VALUE,
  Number.MAX_SAFE_INTEGER,
];

const control = fc.constantFrom(...CONTROL_CHARS);
const short = fc.string({ unit: 'binary', maxLength: 12 });

/** Any text at all, weighted towards what is known to hurt. */
export function hostileString(): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...SPECIAL_STRINGS) },
    { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }) },
    {
      weight: 2,
      arbitrary: fc.tuple(short, control, short).map(([a, c, b]) => `${a}${c}${b}`),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.constantFrom('a', 'é', '%', '\u0000', '𝒜'), fc.constantFrom(255, 257, 501, 5000))
        .map(([c, n]) => c.repeat(n)),
    },
  );
}

/** Percent-encodes every UTF-8 byte of `text` (lone surrogates become U+FFFD, as on the wire). */
export function encodeAll(text: string): string {
  return [...Buffer.from(text, 'utf8')]
    .map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`)
    .join('');
}

/** Encodes like encodeURIComponent, but never throws on lone surrogates. */
export function encodeSafely(text: string): string {
  return Buffer.from(text, 'utf8')
    .toString('latin1')
    .replace(
      /[^A-Za-z0-9\-_.~]/g,
      (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`,
    );
}

export type UrlEncoding = 'encoded' | 'every-byte' | 'raw' | 'double' | 'broken-percent';

export const urlEncoding = fc.constantFrom<UrlEncoding>(
  'encoded',
  'encoded',
  'encoded',
  'every-byte',
  'raw',
  'double',
  'broken-percent',
);

/** Writes `text` into a URL the way `how` says, most often correctly, sometimes not. */
export function writeInUrl(text: string, how: UrlEncoding): string {
  switch (how) {
    case 'encoded':
      return encodeSafely(text);
    case 'every-byte':
      return encodeAll(text);
    case 'raw':
      return text;
    case 'double':
      return encodeSafely(encodeSafely(text));
    case 'broken-percent':
      return `${encodeSafely(text)}%${text.length % 2 === 0 ? 'ff' : 'e2%82'}`;
  }
}
