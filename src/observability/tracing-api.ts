import {
  context,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { HeraldError } from '../errors.ts';
import type { PublishTracer } from '../services/publish-message.ts';
import { contextFromHeaders, storedContextOf } from './tracing-context.ts';

/**
 * The spans of the API side: one SERVER span per HTTP request (when the API is traced) and one
 * PRODUCER span per published message, whose context is stored with the message.
 *
 * A publish over HTTP is a child of its request's span. The route hands the publish service the
 * request's headers object (`PublishRequest.traceHeaders`); that same object (Node's own
 * `IncomingMessage.headers`, which `request.headers` is unless a hook replaced it) is the key
 * under which the request's span is kept here, so no Fastify decoration or context manager is
 * needed, and the entry goes when the request does (a WeakMap). Were the headers replaced, the
 * publish would only lose its request span as parent and hang under the caller's span instead.
 */
export interface ApiSpans {
  readonly publishTracer: PublishTracer;
  /** Adds the hooks that give every request its span. */
  register(app: FastifyInstance): void;
}

/** Health probes and metric scrapes: machines ask every few seconds; a trace each is noise. */
const PROBES = /^\/(metrics$|api\/v1\/health)/;

export function createApiSpans(tracer: Tracer): ApiSpans {
  const requestSpans = new WeakMap<object, Span>();

  const publishTracer: PublishTracer = {
    startPublish(message, carrier) {
      // Library mode has no headers: the host application's active span (if it runs an
      // OpenTelemetry SDK with a context manager) is the parent then.
      let parent = context.active();
      if (carrier !== undefined) {
        const requestSpan = requestSpans.get(carrier);
        parent =
          requestSpan === undefined
            ? contextFromHeaders(carrier)
            : trace.setSpan(ROOT_CONTEXT, requestSpan);
      }
      const span = tracer.startSpan(
        `publish ${message.eventType}`,
        {
          kind: SpanKind.PRODUCER,
          attributes: {
            'messaging.system': 'herald',
            'messaging.operation.name': 'publish',
            'messaging.destination.name': message.eventType,
            'herald.message.id': message.id,
            'herald.app.id': message.appId,
            'herald.event_type': message.eventType,
          },
        },
        parent,
      );
      return {
        context: storedContextOf(span),
        end(outcome) {
          if (outcome.ok) {
            // An application created inline may have been found under its uid instead.
            span.setAttribute('herald.app.id', outcome.message.appId);
            span.setAttribute('herald.delivery_count', outcome.deliveryCount);
          } else if (outcome.error instanceof HeraldError) {
            // What the caller was told (a taken eventId, say); a driver's message is kept out
            // of traces, as it is kept out of API answers.
            span.setAttribute('error.type', outcome.error.code);
            span.setStatus({ code: SpanStatusCode.ERROR, message: outcome.error.message });
          } else {
            span.setAttribute('error.type', 'internal');
            span.setStatus({ code: SpanStatusCode.ERROR });
          }
          span.end();
        },
      };
    },
  };

  function endRequestSpan(request: FastifyRequest, statusCode: number): void {
    const span = requestSpans.get(request.raw.headers);
    if (span === undefined) return;
    requestSpans.delete(request.raw.headers);
    span.setAttribute('http.response.status_code', statusCode);
    // A 4xx is the client's mistake, not the server's (OpenTelemetry's HTTP conventions).
    if (statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end();
  }

  return {
    publishTracer,
    // No `onRequestAbort` hook: it cost a listener per request (measurably), and a request whose
    // client left before the answer only loses its span (the WeakMap lets it go).
    register(app) {
      app.addHook('onRequest', (request, _reply, done) => {
        // The route template, not the path: span names must not carry ids. A request matching
        // no route gets no span: such paths are never rate limited, and a flood of them would
        // fill the span queue and crowd out the spans that matter.
        const route = request.routeOptions.url;
        if (route === undefined || PROBES.test(route)) {
          done();
          return;
        }
        const attributes: Record<string, string> = {
          'http.request.method': request.method,
          // Bounded by the provider's attribute length limit (tracing-sdk.ts).
          'url.path': request.url.split('?', 1)[0] ?? '',
          'herald.request.id': String(request.id),
          'http.route': route,
        };
        const span = tracer.startSpan(
          `${request.method} ${route}`,
          { kind: SpanKind.SERVER, attributes },
          contextFromHeaders(request.headers),
        );
        requestSpans.set(request.raw.headers, span);
        done();
      });
      app.addHook('onResponse', (request, reply, done) => {
        endRequestSpan(request, reply.statusCode);
        done();
      });
    },
  };
}
