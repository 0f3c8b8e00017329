package bench

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestBucketBoundsRoundTrip(t *testing.T) {
	vals := []int64{0, 1, 127, 255, 256, 257, 511, 512, 1000, 12345, 1 << 20, 1<<40 + 12345, math.MaxInt64}
	for _, v := range vals {
		i := bucketOf(v)
		lo, hi := bucketBounds(i)
		if v < lo || (hi > lo && v >= hi) {
			t.Errorf("bucketOf(%d) = %d with bounds [%d, %d): value outside", v, i, lo, hi)
		}
		if v >= linearMax && float64(hi-lo) > float64(lo)/subBuckets {
			t.Errorf("bucket %d of %d is [%d, %d): wider than 1/%d of its lower bound", i, v, lo, hi, subBuckets)
		}
		if i >= numBuckets {
			t.Errorf("bucketOf(%d) = %d, beyond %d buckets", v, i, numBuckets)
		}
	}
	// Buckets tile the line: each starts where the previous ended.
	for i := 1; i < numBuckets; i++ {
		_, prevHi := bucketBounds(i - 1)
		lo, _ := bucketBounds(i)
		if lo != prevHi {
			t.Fatalf("bucket %d starts at %d, previous ends at %d", i, lo, prevHi)
		}
	}
}

func TestQuantileUniform(t *testing.T) {
	h := NewHistogram()
	// 1 µs .. 10 000 µs, each once, in a shuffled order.
	vals := make([]time.Duration, 10000)
	for i := range vals {
		vals[i] = time.Duration(i+1) * time.Microsecond
	}
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(vals), func(i, j int) { vals[i], vals[j] = vals[j], vals[i] })
	for _, v := range vals {
		h.Record(v)
	}
	for _, tc := range []struct {
		q    float64
		want time.Duration
	}{
		{0.5, 5000 * time.Microsecond},
		{0.95, 9500 * time.Microsecond},
		{0.99, 9900 * time.Microsecond},
		{0.999, 9990 * time.Microsecond},
		{1, 10000 * time.Microsecond},
		{0, 1 * time.Microsecond},
	} {
		got := h.Quantile(tc.q)
		if rel := math.Abs(float64(got-tc.want)) / float64(tc.want); rel > 0.008 {
			t.Errorf("Quantile(%v) = %v, want %v within 0.8%% (off by %.2f%%)", tc.q, got, tc.want, rel*100)
		}
	}
	if h.Count() != 10000 {
		t.Errorf("Count() = %d, want 10000", h.Count())
	}
	if h.Min() != time.Microsecond || h.Max() != 10*time.Millisecond {
		t.Errorf("Min, Max = %v, %v; want 1µs, 10ms", h.Min(), h.Max())
	}
	if want := 5000500 * time.Nanosecond; h.Mean() != want {
		t.Errorf("Mean() = %v, want %v", h.Mean(), want)
	}
}

// TestQuantileAgainstSort checks every quantile against the exact
// nearest-rank answer on a skewed (log-normal) sample.
func TestQuantileAgainstSort(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	h := NewHistogram()
	var vals []time.Duration
	for range 50000 {
		v := time.Duration(math.Exp(r.NormFloat64()*1.5+13) + 1) // around 0.5 ms, long tail
		vals = append(vals, v)
		h.Record(v)
	}
	slices.Sort(vals)
	for _, q := range []float64{0.01, 0.1, 0.5, 0.9, 0.95, 0.99, 0.999} {
		want := vals[int(math.Ceil(q*float64(len(vals))))-1]
		got := h.Quantile(q)
		if rel := math.Abs(float64(got-want)) / float64(want); rel > 0.008 {
			t.Errorf("Quantile(%v) = %v, exact %v: off by %.2f%%", q, got, want, rel*100)
		}
	}
}

func TestQuantileSingleValueIsExact(t *testing.T) {
	h := NewHistogram()
	for range 3 {
		h.Record(1234567 * time.Nanosecond)
	}
	for _, q := range []float64{0, 0.5, 0.99, 1} {
		if got := h.Quantile(q); got != 1234567*time.Nanosecond {
			t.Errorf("Quantile(%v) = %v, want exactly 1.234567ms (clamped to min/max)", q, got)
		}
	}
}

func TestEmptyHistogram(t *testing.T) {
	h := NewHistogram()
	if h.Quantile(0.99) != 0 || h.Mean() != 0 || h.Min() != 0 || h.Max() != 0 || h.Bins(10) != nil {
		t.Errorf("empty histogram: Quantile %v Mean %v Min %v Max %v Bins %v; want zeros and nil",
			h.Quantile(0.99), h.Mean(), h.Min(), h.Max(), h.Bins(10))
	}
}

func TestNegativeCountsAsZero(t *testing.T) {
	h := NewHistogram()
	h.Record(-time.Second)
	if h.Min() != 0 || h.Max() != 0 || h.Quantile(1) != 0 {
		t.Errorf("after Record(-1s): Min %v Max %v p100 %v, want 0", h.Min(), h.Max(), h.Quantile(1))
	}
}

func TestMergeEqualsRecordingAll(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	all, a, b := NewHistogram(), NewHistogram(), NewHistogram()
	for i := range 20000 {
		v := time.Duration(r.ExpFloat64() * 1e6)
		all.Record(v)
		if i%3 == 0 {
			a.Record(v)
		} else {
			b.Record(v)
		}
	}
	a.Merge(b)
	a.Merge(NewHistogram()) // merging an empty one changes nothing
	if a.Count() != all.Count() || a.Min() != all.Min() || a.Max() != all.Max() {
		t.Fatalf("merged Count/Min/Max = %d/%v/%v, want %d/%v/%v", a.Count(), a.Min(), a.Max(), all.Count(), all.Min(), all.Max())
	}
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
		if a.Quantile(q) != all.Quantile(q) {
			t.Errorf("merged Quantile(%v) = %v, want %v", q, a.Quantile(q), all.Quantile(q))
		}
	}
	if d := a.Mean() - all.Mean(); d < -time.Nanosecond || d > time.Nanosecond {
		t.Errorf("merged Mean = %v, want %v", a.Mean(), all.Mean())
	}
}

func TestBins(t *testing.T) {
	h := NewHistogram()
	r := rand.New(rand.NewPCG(7, 8))
	for range 10000 {
		h.Record(time.Duration(math.Exp(r.NormFloat64()+12)) + time.Microsecond)
	}
	bins := h.Bins(40)
	if len(bins) != 40 {
		t.Fatalf("Bins(40) gave %d bins", len(bins))
	}
	var sum uint64
	for i, b := range bins {
		sum += b.Count
		if b.Hi <= b.Lo {
			t.Errorf("bin %d = [%v, %v): empty range", i, b.Lo, b.Hi)
		}
		if i > 0 && b.Lo != bins[i-1].Hi {
			t.Errorf("bin %d starts at %v, bin %d ends at %v", i, b.Lo, i-1, bins[i-1].Hi)
		}
	}
	if sum != h.Count() {
		t.Errorf("bins hold %d values, want %d", sum, h.Count())
	}
	if bins[0].Lo != h.Min() || bins[39].Hi != h.Max()+1 {
		t.Errorf("bins span [%v, %v), want [%v, %v]", bins[0].Lo, bins[39].Hi, h.Min(), h.Max())
	}
	// A log-normal sample peaks in the middle, not at an edge.
	peak := 0
	for i, b := range bins {
		if b.Count > bins[peak].Count {
			peak = i
		}
	}
	if peak < 10 || peak > 30 {
		t.Errorf("peak at bin %d of 40; a log-normal sample should peak near the middle", peak)
	}

	one := NewHistogram()
	one.Record(time.Millisecond)
	one.Record(time.Millisecond)
	if b := one.Bins(40); len(b) != 1 || b[0].Count != 2 {
		t.Errorf("Bins of one distinct value = %v, want one bin of 2", b)
	}
}
