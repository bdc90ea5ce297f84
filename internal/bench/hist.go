package bench

import (
	"math"
	"math/bits"
	"time"
)

// The histogram is log-linear, as HdrHistogram is: values below 2×subCount
// are counted exactly, and above that every power of two is split into
// subCount equal buckets. A bucket's width is then at most 1/subCount of
// its lower bound, so any quantile read back is within 0.8% of a recorded
// value, with memory fixed whatever the number of samples (the backlog
// scenario records a million).
const (
	subBits  = 7
	subCount = 1 << subBits // 128 buckets per power of two
	// maxShift caps the tracked range at about 2^43 ns (2.4 hours); longer
	// values land in the last bucket, and Max still reports them exactly.
	maxShift = 36
	nBuckets = 2*subCount + maxShift*subCount
)

// Histogram counts durations, in nanoseconds, in log-linear buckets. The
// zero value is empty and ready to use. It is not safe for concurrent use:
// each recording goroutine keeps its own and Merge combines them.
type Histogram struct {
	counts   []uint64
	n        uint64
	sum      float64
	min, max int64
}

func bucketOf(v int64) int {
	if v < 0 {
		v = 0
	}
	u := uint64(v)
	if u < 2*subCount {
		return int(u)
	}
	shift := bits.Len64(u) - (subBits + 1)
	if shift > maxShift {
		return nBuckets - 1
	}
	top := u >> shift // in [subCount, 2*subCount)
	return 2*subCount + (shift-1)*subCount + int(top-subCount)
}

// bucketRange returns the smallest and largest value counted in bucket i.
func bucketRange(i int) (lo, hi int64) {
	if i < 2*subCount {
		return int64(i), int64(i)
	}
	j := i - 2*subCount
	shift := j/subCount + 1
	top := int64(j%subCount + subCount)
	return top << shift, (top+1)<<shift - 1
}

// Record counts one value.
func (h *Histogram) Record(d time.Duration) {
	v := int64(d)
	if v < 0 {
		v = 0
	}
	if h.counts == nil {
		h.counts = make([]uint64, nBuckets)
	}
	h.counts[bucketOf(v)]++
	if h.n == 0 || v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
	h.n++
	h.sum += float64(v)
}

// Merge adds every value counted by o to h.
func (h *Histogram) Merge(o *Histogram) {
	if o == nil || o.n == 0 {
		return
	}
	if h.counts == nil {
		h.counts = make([]uint64, nBuckets)
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	h.max = max(h.max, o.max)
	h.n += o.n
	h.sum += o.sum
}

// Count returns how many values were recorded.
func (h *Histogram) Count() uint64 { return h.n }

// Max returns the largest value recorded, exactly.
func (h *Histogram) Max() time.Duration { return time.Duration(h.max) }

// Mean returns the average of the values recorded.
func (h *Histogram) Mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return time.Duration(h.sum / float64(h.n))
}

// Quantile returns the value at quantile q in [0, 1] by the nearest-rank
// definition: the smallest recorded value with at least q of the values at
// or below it. It is exact for values under 256 ns and within one bucket
// (under 0.8%) above; the largest bucket's answer is capped at Max.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	rank = min(max(rank, 1), h.n)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			lo, hi := bucketRange(i)
			// The middle of the bucket halves the worst-case error.
			v := lo + (hi-lo)/2
			return time.Duration(min(max(v, h.min), h.max))
		}
	}
	return time.Duration(h.max)
}

// Summary is a latency distribution in milliseconds, as reports show it.
type Summary struct {
	Count uint64  `json:"count"`
	Mean  float64 `json:"mean_ms"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P99   float64 `json:"p99_ms"`
	P999  float64 `json:"p99_9_ms"`
	Max   float64 `json:"max_ms"`
}

// Summary returns h's count, mean, p50, p90, p99, p99.9 and max.
func (h *Histogram) Summary() Summary {
	ms := func(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }
	return Summary{
		Count: h.n,
		Mean:  ms(h.Mean()),
		P50:   ms(h.Quantile(0.50)),
		P90:   ms(h.Quantile(0.90)),
		P99:   ms(h.Quantile(0.99)),
		P999:  ms(h.Quantile(0.999)),
		Max:   ms(h.Max()),
	}
}
