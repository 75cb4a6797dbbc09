import type { FastifyInstance } from 'fastify';
import secureJson from 'secure-json-parse';
import { HeraldError } from '../errors.ts';

const QUOTE = 34;
const BACKSLASH = 92;
const OPEN_BRACE = 123;
const OPEN_BRACKET = 91;
const CLOSE_BRACE = 125;
const CLOSE_BRACKET = 93;

/**
 * Whether `text` holds at most `max` opening brackets and braces (in strings or not), counted
 * with the native `indexOf`: a body with no more than `maxDepth` of them cannot nest deeper,
 * which settles most webhook payloads at a tenth of the cost of parsing them.
 */
function fewOpenings(text: string, max: number): boolean {
  let count = 0;
  for (let i = text.indexOf('['); i !== -1; i = text.indexOf('[', i + 1)) {
    if (++count > max) return false;
  }
  for (let i = text.indexOf('{'); i !== -1; i = text.indexOf('{', i + 1)) {
    if (++count > max) return false;
  }
  return true;
}

/**
 * Whether JSON `text` nests arrays and objects more than `maxDepth` levels deep (`[]` is one
 * level, a bare scalar none). One pass over the text without recursion, so any depth is
 * measured safely, before the parser builds a single object. Strings are skipped with
 * `indexOf`; text that is not JSON gives an unspecified answer and is refused by the parser.
 */
export function jsonNestingExceeds(text: string, maxDepth: number): boolean {
  if (fewOpenings(text, maxDepth)) return false;
  let depth = 0;
  const length = text.length;
  for (let i = 0; i < length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      for (;;) {
        const end = text.indexOf('"', i + 1);
        if (end === -1) return false;
        let backslashes = 0;
        for (let j = end - 1; text.charCodeAt(j) === BACKSLASH; j--) backslashes++;
        i = end;
        if (backslashes % 2 === 0) break;
      }
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > maxDepth) return true;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      depth--;
    }
  }
  return false;
}

/**
 * The API's `application/json` parser. Empty bodies are allowed (the svix client sends
 * `content-type: application/json` on bodiless POSTs); bodies nested deeper than `maxDepth` are
 * refused before parsing (a deep body costs memory and stack in everything that walks it
 * later); `__proto__` keys are refused rather than silently dropped, since a payload must
 * reach receivers as it was sent.
 */
export function registerJsonParser(app: FastifyInstance, maxDepth: number): void {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') return done(null, undefined);
    if (jsonNestingExceeds(text, maxDepth)) {
      return done(
        new HeraldError(
          'invalid_json',
          `The request body nests arrays and objects more than ${maxDepth} levels deep, the most this server accepts (HERALD_JSON_MAX_DEPTH).`,
        ),
        undefined,
      );
    }
    try {
      done(
        null,
        secureJson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' }),
      );
    } catch (error) {
      const forbidden = /forbidden (prototype|constructor) property/.test((error as Error).message);
      done(
        forbidden
          ? new HeraldError(
              'invalid_json',
              'JSON keys named "__proto__", or "constructor" holding "prototype", are refused: they can change the objects they are merged into.',
            )
          : (error as Error),
        undefined,
      );
    }
  });
}
