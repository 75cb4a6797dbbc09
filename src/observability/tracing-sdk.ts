import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { ExportResultCode } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import type { Logger } from 'pino';
import type { Tracing, TracingDeps } from './tracing.ts';
import { createApiSpans } from './tracing-api.ts';
import { createAttemptSpans } from './tracing-attempts.ts';

const version = (createRequire(import.meta.url)('../../package.json') as { version: string })
  .version;

/** How long one export may take before it counts as failed (the SDK's default is 10 s). */
const EXPORT_TIMEOUT_MS = 5_000;
/**
 * The batch processor's own bound on an export, past the exporter's: the exporter then always
 * reports the failure itself (and `reportingFailures` logs it) before the processor gives up.
 */
const BATCH_EXPORT_TIMEOUT_MS = EXPORT_TIMEOUT_MS + 1_000;
/** How long `close()` waits for the last spans to go out. */
const CLOSE_TIMEOUT_MS = 5_000;
/**
 * Longest attribute value kept (longer ones are cut): a request path may be kilobytes long, and
 * the span queue must hold many spans, not a few huge ones. The SDK's default is unbounded.
 */
export const ATTRIBUTE_VALUE_LENGTH_LIMIT = 256;

/**
 * OpenTelemetry tracing to `url` (OTLP/HTTP, JSON). Loaded by `loadTracing` (tracing.ts) only
 * when tracing is on.
 *
 * Each node has its own TracerProvider, never the global one: several nodes can share a process
 * (tests, library mode), and a host application's own OpenTelemetry set-up stays untouched.
 * Spans leave through a BatchSpanProcessor, off the delivery path; when the collector is down
 * they are dropped (its queue is bounded) and a warning is logged once per outage. The SDK's
 * standard variables still apply (`OTEL_TRACES_SAMPLER`, `OTEL_BSP_*`,
 * `OTEL_EXPORTER_OTLP_HEADERS` for a collector that wants credentials).
 */
export function createTracing(url: string, deps: TracingDeps): Tracing {
  const logger = deps.logger.child({ component: 'tracing' });
  const exporter = reportingFailures(
    new OTLPTraceExporter({ url, timeoutMillis: EXPORT_TIMEOUT_MS }),
    logger,
  );
  const provider = new BasicTracerProvider({
    resource: defaultResource().merge(
      resourceFromAttributes({
        'service.name': deps.config.otelServiceName,
        'service.version': version,
        // Tells the nodes of one deployment apart.
        'service.instance.id': randomUUID(),
      }),
    ),
    spanLimits: { attributeValueLengthLimit: ATTRIBUTE_VALUE_LENGTH_LIMIT },
    spanProcessors: [
      new BatchSpanProcessor(exporter, { exportTimeoutMillis: BATCH_EXPORT_TIMEOUT_MS }),
    ],
  });
  const tracer = provider.getTracer('herald', version);
  const api = createApiSpans(tracer);
  let closing: Promise<void> | undefined;

  return {
    publishTracer: api.publishTracer,
    deliveryObserver: createAttemptSpans(tracer),
    registerApi: (app) => api.register(app),
    close() {
      closing ??= withinTime(provider.shutdown(), CLOSE_TIMEOUT_MS).then(
        (done) => {
          if (!done) logger.warn('trace export did not finish in time at shutdown; spans lost');
        },
        // The failed export was logged by `reportingFailures` already.
        (error: unknown) => {
          logger.debug({ error: (error as Error).message }, 'trace export failed at shutdown');
        },
      );
      return closing;
    },
  };
}

/**
 * `exporter`, logging its failures: a warning when exports start failing, then nothing until
 * one succeeds again (a collector down for an hour must not write a line per batch).
 */
function reportingFailures(exporter: SpanExporter, logger: Logger): SpanExporter {
  let failing = false;
  return {
    export(spans, resultCallback) {
      exporter.export(spans, (result) => {
        if (result.code !== ExportResultCode.SUCCESS) {
          if (!failing) {
            failing = true;
            logger.warn(
              { error: result.error?.message, spans: spans.length },
              'trace export failed: spans are dropped until the collector accepts them again',
            );
          }
        } else if (failing) {
          failing = false;
          logger.info('trace export works again');
        }
        resultCallback(result);
      });
    },
    shutdown: () => exporter.shutdown(),
    forceFlush: () => exporter.forceFlush?.() ?? Promise.resolve(),
  };
}

/** Whether `promise` settled within `ms` (it rejects when `promise` does). */
async function withinTime(promise: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true as const), late]);
  } finally {
    clearTimeout(timer);
  }
}
