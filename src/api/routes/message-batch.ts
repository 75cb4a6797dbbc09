import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Static } from '@sinclair/typebox';
import type { FastifyError, FastifyPluginAsync, FastifyReply } from 'fastify';
import type { Config } from '../../config/load.ts';
import { HeraldError, notFound, type ValidationProblem } from '../../errors.ts';
import { type BatchPublishRequest, publishMessages } from '../../services/publish-batch.ts';
import type { ApiContext } from '../context.ts';
import { MAX_VALIDATION_PROBLEMS } from '../error-handler.ts';
import { JSON_CONTENT_TYPE, messageOutJson } from '../message-out-json.ts';
import { requireAdmin } from '../principal.ts';
import { AppIdParams, errorResponses } from '../schemas/common.ts';
import {
  MAX_BATCH_MESSAGES,
  MessageBatchIn,
  MessageBatchOut,
  type MessageIn,
  WithContentQuery,
} from '../schemas/messages.ts';
import { publishRequestOf, retentionProblem } from './messages.ts';

/**
 * The body limit of the batch route alone: a full batch (1,000 messages of a few KB) fits. The
 * server-wide `bodyLimitBytes` still bounds each message's payload, as in a single publish.
 */
export const BATCH_BODY_LIMIT_BYTES = 16 * 1024 * 1024;

/** The batch route's body limit: `BATCH_BODY_LIMIT_BYTES`, or the server's own if larger. */
export function batchBodyLimit(config: Pick<Config, 'bodyLimitBytes'>): number {
  return Math.max(BATCH_BODY_LIMIT_BYTES, config.bodyLimitBytes);
}

type Message = Static<typeof MessageIn>;

/** Whether `text` takes more than `limit` bytes in UTF-8, measured only when it might. */
function exceedsBytes(text: string, limit: number): boolean {
  // A UTF-16 code unit takes 1 to 3 bytes in UTF-8 (a surrogate pair, 4 for two).
  if (text.length > limit) return true;
  if (text.length * 3 <= limit) return false;
  return Buffer.byteLength(text, 'utf8') > limit;
}

/**
 * Each message's payload as JSON text (serialised once, stored and delivered as is), once the
 * batch holds nothing a single publish would refuse or a batch cannot do; else a 422 listing the
 * problems with their `loc` (`['body', 'messages', '<index>', ...]`).
 */
function payloadTexts(messages: readonly Message[], payloadLimit: number): string[] {
  const texts = new Array<string>(messages.length);
  const problems: ValidationProblem[] = [];
  const at = (index: number, field: string) => ['body', 'messages', String(index), field];
  for (let i = 0; i < messages.length && problems.length < MAX_VALIDATION_PROBLEMS; i++) {
    const message = messages[i] as Message;
    if (message.application != null) {
      problems.push({
        loc: at(i, 'application'),
        msg: 'A batch cannot create its application: create it first (POST /api/v1/app), or publish this message on its own.',
        type: 'value_error',
      });
    }
    if (message.payloadRetentionHours != null) {
      const retention = retentionProblem(message, ['body', 'messages', String(i)]);
      if (retention !== undefined) problems.push(retention);
    }
    const text = JSON.stringify(message.payload);
    if (exceedsBytes(text, payloadLimit)) {
      problems.push({
        loc: at(i, 'payload'),
        msg: `The payload is larger than ${payloadLimit} bytes, the most one message may carry (HERALD_BODY_LIMIT_BYTES).`,
        type: 'value_error',
      });
    }
    texts[i] = text;
  }
  if (problems.length > 0) throw new HeraldError('validation_error', problems);
  return texts;
}

/** `POST /app/{app_id}/msg/batch`: many messages in one request and one transaction. */
export function messageBatchRoutes(ctx: ApiContext): FastifyPluginAsync {
  return async (plugin) => {
    const app = plugin.withTypeProvider<TypeBoxTypeProvider>();
    const bodyLimit = batchBodyLimit(ctx.config);
    const payloadLimit = ctx.config.bodyLimitBytes;

    app.post(
      '/app/:app_id/msg/batch',
      {
        bodyLimit,
        // Only the 413 differs: it names this route's limit, not HERALD_BODY_LIMIT_BYTES. Errors
        // thrown here go on to the API's error handler.
        errorHandler(error) {
          if ((error as FastifyError).code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
            throw new HeraldError(
              'payload_too_large',
              `The batch is larger than ${bodyLimit} bytes, the most this route accepts; send fewer messages per request.`,
            );
          }
          throw error;
        },
        schema: {
          summary: 'Create Messages in Batch',
          description: `Herald only (not in the Svix API). Publishes 1 to ${MAX_BATCH_MESSAGES} messages to one application in ONE transaction: every message and its deliveries are stored, or none is (409 naming the message when an eventId is taken or repeats in the batch). Each message is validated and stored as by Create Message, except that it cannot create the application. The body may take up to ${BATCH_BODY_LIMIT_BYTES / (1024 * 1024)} MiB (or HERALD_BODY_LIMIT_BYTES if larger), each payload at most HERALD_BODY_LIMIT_BYTES. Counts as one request for rate limits.`,
          tags: ['Message'],
          params: AppIdParams,
          querystring: WithContentQuery,
          body: MessageBatchIn,
          response: { 202: MessageBatchOut, ...errorResponses },
        },
      },
      async (request, reply) => {
        requireAdmin(request);
        const { messages } = request.body;
        const payloads = payloadTexts(messages, payloadLimit);
        const idOrUid = request.params.app_id;
        const application = await ctx.store.getApplication(idOrUid);
        if (application === null || application.internal) throw notFound('Application', idOrUid);

        const requests = new Array<BatchPublishRequest>(messages.length);
        for (let i = 0; i < messages.length; i++) {
          const one = publishRequestOf(application.id, messages[i] as Message, payloads[i] ?? '');
          one.traceHeaders = request.headers;
          requests[i] = one;
        }
        const results = await publishMessages(ctx, requests);

        const withContent = request.query.with_content ?? true;
        // Each payload's stored text goes into the answer as is (see message-out-json.ts); the
        // reply is untyped here since it sends `MessageBatchOut` as JSON text, not as objects.
        const texts = new Array<string>(results.length);
        for (let i = 0; i < results.length; i++) {
          const { message } = results[i] as (typeof results)[number];
          texts[i] = messageOutJson(message, withContent, message.createdAt);
        }
        return (reply as FastifyReply)
          .code(202)
          .type(JSON_CONTENT_TYPE)
          .send(`{"data":[${texts.join(',')}]}`);
      },
    );
  };
}
