package bench

import (
	"math"
	"math/bits"
	"time"
)

// Histogram records latencies in log-linear buckets (the HdrHistogram
// layout): values below 256 ns are exact, and above that every power of two
// is split into 128 buckets, so a bucket's width is under 1/128 of its
// lower bound and every quantile is within 0.8 % of a recorded value.
// Recording is O(1) and allocation-free. The zero value is not ready: use
// NewHistogram. Not safe for concurrent use; give each worker its own and
// Merge them.
type Histogram struct {
	counts []uint64
	total  uint64
	sum    float64 // ns, for the mean
	min    int64
	max    int64
}

const (
	subBits    = 7
	subBuckets = 1 << subBits // 128 buckets per power of two
	// linearMax: values below it get a bucket each.
	linearMax = 2 * subBuckets
	// maxShift covers every positive int64.
	maxShift   = 63 - subBits
	numBuckets = (maxShift+1)*subBuckets + subBuckets
)

// NewHistogram returns an empty histogram.
func NewHistogram() *Histogram {
	return &Histogram{counts: make([]uint64, numBuckets), min: math.MaxInt64}
}

// bucketOf returns the bucket index of v (v >= 0).
func bucketOf(v int64) int {
	if v < linearMax {
		return int(v)
	}
	shift := bits.Len64(uint64(v)) - subBits - 1 // >= 1
	mantissa := int(v >> shift)                  // in [128, 255]
	return shift*subBuckets + mantissa
}

// bucketBounds returns the smallest value of bucket i and the smallest
// value of the next one.
func bucketBounds(i int) (lo, hi int64) {
	if i < linearMax {
		return int64(i), int64(i) + 1
	}
	shift := i/subBuckets - 1
	mantissa := int64(i - shift*subBuckets)
	return mantissa << shift, (mantissa + 1) << shift
}

// Record adds one latency. Negative durations count as zero.
func (h *Histogram) Record(d time.Duration) {
	v := max(int64(d), 0)
	h.counts[bucketOf(v)]++
	h.total++
	h.sum += float64(v)
	h.min = min(h.min, v)
	h.max = max(h.max, v)
}

// Merge adds every value recorded in o.
func (h *Histogram) Merge(o *Histogram) {
	if o.total == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.total += o.total
	h.sum += o.sum
	h.min = min(h.min, o.min)
	h.max = max(h.max, o.max)
}

// Count is the number of recorded values.
func (h *Histogram) Count() uint64 { return h.total }

// Min is the smallest recorded value (0 when empty).
func (h *Histogram) Min() time.Duration {
	if h.total == 0 {
		return 0
	}
	return time.Duration(h.min)
}

// Max is the largest recorded value (0 when empty).
func (h *Histogram) Max() time.Duration { return time.Duration(h.max) }

// Mean is the average (0 when empty).
func (h *Histogram) Mean() time.Duration {
	if h.total == 0 {
		return 0
	}
	return time.Duration(h.sum / float64(h.total))
}

// Quantile returns the value below or at which a fraction q of the
// recorded values lie (the nearest-rank definition: the ceil(q·n)-th
// smallest), as the midpoint of its bucket clamped to the recorded
// minimum and maximum. q is clamped to [0, 1]; an empty histogram gives 0.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.total == 0 {
		return 0
	}
	q = min(max(q, 0), 1)
	rank := uint64(math.Ceil(q * float64(h.total)))
	rank = max(rank, 1)
	var seen uint64
	for i, c := range h.counts {
		if c == 0 {
			continue
		}
		seen += c
		if seen >= rank {
			lo, hi := bucketBounds(i)
			mid := lo + (hi-1-lo)/2
			return time.Duration(min(max(mid, h.min), h.max))
		}
	}
	return time.Duration(h.max)
}

// Bin is one bar of a display histogram: Count values in [Lo, Hi).
type Bin struct {
	Lo    time.Duration `json:"lo_ns"`
	Hi    time.Duration `json:"hi_ns"`
	Count uint64        `json:"count"`
}

// Bins regroups the recorded values into n bins of equal width on a
// logarithmic scale from Min to Max, for drawing. Each bucket's count goes
// to the bin holding its midpoint, so the bins' counts add up to Count.
// An empty histogram gives nil; a histogram of one distinct value gives
// one bin.
func (h *Histogram) Bins(n int) []Bin {
	if h.total == 0 || n <= 0 {
		return nil
	}
	lo, hi := float64(max(h.min, 1)), float64(h.max+1)
	if hi <= lo*1.0001 {
		return []Bin{{Lo: time.Duration(h.min), Hi: time.Duration(h.max + 1), Count: h.total}}
	}
	ratio := math.Log(hi / lo)
	bins := make([]Bin, n)
	for i := range bins {
		bins[i].Lo = time.Duration(lo * math.Exp(ratio*float64(i)/float64(n)))
		bins[i].Hi = time.Duration(lo * math.Exp(ratio*float64(i+1)/float64(n)))
	}
	bins[0].Lo = time.Duration(h.min)
	bins[n-1].Hi = time.Duration(h.max + 1)
	for i, c := range h.counts {
		if c == 0 {
			continue
		}
		blo, bhi := bucketBounds(i)
		mid := float64(min(max(blo+(bhi-1-blo)/2, h.min), h.max))
		j := 0
		if mid > lo {
			j = int(math.Log(mid/lo) / ratio * float64(n))
		}
		bins[min(max(j, 0), n-1)].Count += c
	}
	return bins
}
