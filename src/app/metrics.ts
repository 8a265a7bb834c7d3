import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { type Clock, systemClock } from './clock.ts';

const HOUR = 3600_000;

/**
 * Clues registered per channel, published by the hour: a scrape shows the counts up to the last
 * full hour only, so watching /metrics never tells anyone that a report was made just now.
 */
function hourlyChannelCounter(registry: Registry, clock: Clock) {
  let hourStart = 0;
  const current = new Map<string, number>();
  const published = new Map<string, number>();
  const roll = () => {
    const now = clock.now().getTime();
    const start = now - (now % HOUR);
    if (start === hourStart) return;
    for (const [k, v] of current) published.set(k, (published.get(k) ?? 0) + v);
    current.clear();
    hourStart = start;
  };
  new Gauge({
    name: 'clues_registered_total',
    help: 'Clues registered, by channel, up to the last full hour (never the current hour)',
    labelNames: ['channel'],
    registers: [registry],
    collect() {
      roll();
      this.reset();
      for (const [channel, n] of published) this.set({ channel }, n);
    },
  });
  return {
    inc(labels: { channel: string }) {
      roll();
      current.set(labels.channel, (current.get(labels.channel) ?? 0) + 1);
    },
  };
}

/** One registry per process composition (tests build several side by side). */
export function createMetrics(clock: Clock = systemClock) {
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
    cluesRegistered: hourlyChannelCounter(registry, clock),
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
