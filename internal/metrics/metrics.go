// Package metrics holds Signoff's Prometheus collectors: one registry per
// process, passed down like any other dependency.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the application's collectors.
type Metrics struct {
	registry *prometheus.Registry

	requests    *prometheus.HistogramVec
	itemChanges *prometheus.CounterVec
	signatures  *prometheus.CounterVec
	ready       prometheus.Gauge
	notReady    *prometheus.CounterVec
}

// Sources are the live values read at scrape time.
type Sources struct {
	Pool            *pgxpool.Pool
	LiveConnections func() int
	QueueDepth      func() int
	// TickBatching counts ticks written together and the transactions
	// that wrote them (postgres.DB.TickBatching).
	TickBatching func() (ticks, transactions int64)
	// Log reports the transparency log's integrator: leaves it appended,
	// integrations it refused because an event did not extend its chain,
	// and the newest checkpoint's size (postgres.DB.LogStats).
	Log func() (integrated, forks, size int64)
}

// New registers every collector.
func New(src Sources) *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		registry: reg,
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "signoff_http_request_duration_seconds",
			Help:    "HTTP request latency by route pattern, method and status class.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"method", "route", "status"}),
		itemChanges: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "signoff_item_changes_total",
			Help: "Item state changes committed (ticks, unticks, N/A), by new state and channel.",
		}, []string{"state", "via"}),
		signatures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "signoff_signatures_total",
			Help: "Electronic signatures: given, refused (wrong password or rules) and revoked.",
		}, []string{"outcome"}),
	}
	m.ready = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "signoff_ready",
		Help: "1 when the last readiness check passed (the database answers, takes writes, and has the schema this binary knows), else 0.",
	})
	m.notReady = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "signoff_not_ready_total",
		Help: "Readiness checks that failed, by cause: unreachable, connection_limit, read_only, disk_full, out_of_resources, write_refused, schema.",
	}, []string{"cause"})
	reg.MustRegister(m.requests, m.itemChanges, m.signatures, m.ready, m.notReady,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if src.LiveConnections != nil {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "signoff_live_connections", Help: "Open server-sent event streams on this instance.",
		}, func() float64 { return float64(src.LiveConnections()) }))
	}
	if src.QueueDepth != nil {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "signoff_queue_depth", Help: "Background jobs waiting to run (notifications, webhooks).",
		}, func() float64 { return float64(src.QueueDepth()) }))
	}
	if src.TickBatching != nil {
		reg.MustRegister(
			prometheus.NewCounterFunc(prometheus.CounterOpts{
				Name: "signoff_tick_batch_ticks_total",
				Help: "Ticks written by the group commit: divided by signoff_tick_batch_transactions_total, the ticks one transaction wrote on average.",
			}, func() float64 { t, _ := src.TickBatching(); return float64(t) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{
				Name: "signoff_tick_batch_transactions_total",
				Help: "Transactions the group commit wrote ticks in.",
			}, func() float64 { _, n := src.TickBatching(); return float64(n) }))
	}
	if src.Log != nil {
		reg.MustRegister(
			prometheus.NewCounterFunc(prometheus.CounterOpts{
				Name: "signoff_log_integrated_total",
				Help: "Audit events this instance appended to the transparency log.",
			}, func() float64 { n, _, _ := src.Log(); return float64(n) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{
				Name: "signoff_log_forks_total",
				Help: "Integrations refused because an audit event did not extend its chain as the log holds it (the audit table was changed): the log stops growing.",
			}, func() float64 { _, n, _ := src.Log(); return float64(n) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "signoff_log_size",
				Help: "Leaves in the newest checkpoint this instance signed.",
			}, func() float64 { _, _, n := src.Log(); return float64(n) }))
	}
	if src.Pool != nil {
		reg.MustRegister(poolCollector{src.Pool})
	}
	return m
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

// ObserveRequest records one request.
func (m *Metrics) ObserveRequest(method, route string, status int, d time.Duration) {
	if m == nil {
		return
	}
	if route == "" {
		route = "unmatched"
	}
	m.requests.WithLabelValues(method, route, strconv.Itoa(status/100)+"xx").Observe(d.Seconds())
}

// ItemChanged counts a committed item state change.
func (m *Metrics) ItemChanged(state, via string) {
	if m != nil {
		m.itemChanges.WithLabelValues(state, via).Inc()
	}
}

// Readiness records a readiness check: ready when cause is "", else why not.
func (m *Metrics) Readiness(cause string) {
	if m == nil {
		return
	}
	if cause == "" {
		m.ready.Set(1)
		return
	}
	m.ready.Set(0)
	m.notReady.WithLabelValues(cause).Inc()
}

// Signature counts a signature outcome: "signed", "refused" or "revoked".
func (m *Metrics) Signature(outcome string) {
	if m != nil {
		m.signatures.WithLabelValues(outcome).Inc()
	}
}

// poolCollector reports the database pool's state at scrape time.
type poolCollector struct{ pool *pgxpool.Pool }

var (
	poolConns = prometheus.NewDesc("signoff_db_pool_connections", "Database pool connections by state.", []string{"state"}, nil)
	poolMax   = prometheus.NewDesc("signoff_db_pool_max_connections", "Database pool size limit.", nil, nil)
	poolWaits = prometheus.NewDesc("signoff_db_pool_acquire_waits_total", "Acquires that had to wait for a connection.", nil, nil)
	poolWait  = prometheus.NewDesc("signoff_db_pool_acquire_wait_seconds_total", "Time spent waiting for a connection.", nil, nil)
)

func (c poolCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- poolConns
	ch <- poolMax
	ch <- poolWaits
	ch <- poolWait
}

func (c poolCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.pool.Stat()
	ch <- prometheus.MustNewConstMetric(poolConns, prometheus.GaugeValue, float64(s.AcquiredConns()), "acquired")
	ch <- prometheus.MustNewConstMetric(poolConns, prometheus.GaugeValue, float64(s.IdleConns()), "idle")
	ch <- prometheus.MustNewConstMetric(poolConns, prometheus.GaugeValue, float64(s.ConstructingConns()), "constructing")
	ch <- prometheus.MustNewConstMetric(poolMax, prometheus.GaugeValue, float64(s.MaxConns()))
	ch <- prometheus.MustNewConstMetric(poolWaits, prometheus.CounterValue, float64(s.EmptyAcquireCount()))
	ch <- prometheus.MustNewConstMetric(poolWait, prometheus.CounterValue, s.EmptyAcquireWaitTime().Seconds())
}
