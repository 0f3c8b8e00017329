// Package storemetrics instruments a store.Store: every call is timed
// and its failure counted by an Observer (the server's Prometheus
// metrics: latch_store_duration_seconds{method},
// latch_store_errors_total{method}). It lives beside the store and knows
// nothing of HTTP or Prometheus.
package storemetrics
