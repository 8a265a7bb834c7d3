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
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
