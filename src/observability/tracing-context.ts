import {
  type Context,
  defaultTextMapGetter,
  defaultTextMapSetter,
  ROOT_CONTEXT,
  type Span,
  trace,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import type { TraceCarrier } from '../services/publish-message.ts';
import type { TraceContext } from '../store/records.ts';

/**
 * W3C trace context in and out of headers and the `messages` row. Always read and written with
 * the propagator, never through the global OpenTelemetry propagator: a host application (library
 * mode) may have registered another one, and Herald's receivers are promised W3C headers.
 */
const propagator = new W3CTraceContextPropagator();

/** The trace context an incoming request's headers carry; ROOT when they carry none (or junk). */
export function contextFromHeaders(headers: TraceCarrier): Context {
  return propagator.extract(ROOT_CONTEXT, headers, defaultTextMapGetter);
}

/** The context a message was stored with, as a parent for its attempts' spans. */
export function contextFromStored(stored: TraceContext | null): Context {
  if (stored === null) return ROOT_CONTEXT;
  const carrier: Record<string, string> = { traceparent: stored.traceparent };
  if (stored.tracestate !== null) carrier.tracestate = stored.tracestate;
  return propagator.extract(ROOT_CONTEXT, carrier, defaultTextMapGetter);
}

/** The `traceparent` (and `tracestate`, when the trace has one) that make `span` the parent. */
export function headersOf(span: Span): Record<string, string> {
  const headers: Record<string, string> = {};
  propagator.inject(trace.setSpan(ROOT_CONTEXT, span), headers, defaultTextMapSetter);
  return headers;
}

/** `span`'s context as the `messages` row keeps it; null for a span with no valid context. */
export function storedContextOf(span: Span): TraceContext | null {
  const headers = headersOf(span);
  if (headers.traceparent === undefined) return null;
  return { traceparent: headers.traceparent, tracestate: headers.tracestate ?? null };
}
