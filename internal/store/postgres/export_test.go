package postgres

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
