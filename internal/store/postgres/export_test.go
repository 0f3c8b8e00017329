package postgres

import "github.com/jackc/pgx/v5"

// Migrations returns the embedded migration versions in order.
func Migrations() []int {
	ms, err := migrations()
	if err != nil {
		panic(err)
	}
	vs := make([]int, len(ms))
	for i, m := range ms {
		vs[i] = m.version
	}
	return vs
}

// WithTracer returns opts with tracer seeing every query of the Store's
// pool.
func WithTracer(opts Options, tracer pgx.QueryTracer) Options {
	opts.tracer = tracer
	return opts
}
