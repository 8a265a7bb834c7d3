import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** One registry per process composition (tests build several side by side). */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    httpRequests: new Counter({
      name: 'http_requests_total',
      help: 'HTTP requests by route and status',
      labelNames: ['method', 'route', 'status'],
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request duration',
      labelNames: ['method', 'route'],
      buckets: [0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    cluesRegistered: new Counter({
      name: 'clues_registered_total',
      help: 'Clues registered, by channel',
      labelNames: ['channel'],
      registers: [registry],
    }),
    outboxPending: new Gauge({
      name: 'outbox_pending',
      help: 'Outbox rows not yet handed to Redis (sampled at scrape)',
      registers: [registry],
    }),
    ledgerCheckpointAge: new Gauge({
      name: 'ledger_last_checkpoint_age_seconds',
      help: 'Seconds since the last ledger checkpoint (sampled at scrape)',
      registers: [registry],
    }),
    hotlineCalls: new Gauge({
      name: 'hotline_calls_last_24h',
      help: 'Hotline calls started in the last 24 hours, by figure: calls, answered_by_ivr, reached_operator, callback_requested, abandoned, callbacks_created, called_back (sampled at scrape)',
      labelNames: ['figure'],
      registers: [registry],
    }),
    hotlineCallbacks: new Gauge({
      name: 'hotline_callbacks',
      help: 'Call-backs owed now, by state: open, overdue (sampled at scrape)',
      labelNames: ['state'],
      registers: [registry],
    }),
    hotlineCallbackMedianSeconds: new Gauge({
      name: 'hotline_callback_median_seconds_last_24h',
      help: 'Median seconds from a missed call to its call-back, call-backs created in the last 24 hours (sampled at scrape)',
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
