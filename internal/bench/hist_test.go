package bench

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// exactQuantile is the nearest-rank quantile of sorted values: the
// definition Histogram.Quantile approximates.
func exactQuantile(sorted []int64, q float64) int64 {
	rank := int(math.Ceil(q * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

func TestBucketsCoverEveryValue(t *testing.T) {
	t.Parallel()
	values := []int64{0, 1, 127, 128, 255, 256, 257, 511, 512, 1000, 1 << 20, 1<<20 + 1, 123456789, 1 << 42, 1<<43 - 1}
	r := rand.New(rand.NewPCG(1, 2))
	for range 10000 {
		values = append(values, r.Int64N(1<<43))
	}
	for _, v := range values {
		i := bucketOf(v)
		lo, hi := bucketRange(i)
		if v < lo || v > hi {
			t.Fatalf("value %d in bucket %d, which holds [%d, %d]", v, i, lo, hi)
		}
		if v >= 256 && float64(hi-lo+1)/float64(lo) > 1.0/subCount+1e-12 {
			t.Fatalf("bucket %d [%d, %d] is wider than 1/%d of its lower bound", i, lo, hi, subCount)
		}
	}
	// Buckets follow each other with no gap and no overlap.
	for i := 1; i < nBuckets; i++ {
		_, prevHi := bucketRange(i - 1)
		lo, _ := bucketRange(i)
		if lo != prevHi+1 {
			t.Fatalf("bucket %d starts at %d, the one before ends at %d", i, lo, prevHi)
		}
	}
	if got := bucketOf(math.MaxInt64); got != nBuckets-1 {
		t.Errorf("bucketOf(MaxInt64) = %d, want the last bucket %d", got, nBuckets-1)
	}
}

func TestQuantilesMatchExact(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		gen  func(r *rand.Rand) int64
	}{
		{"uniform microseconds", func(r *rand.Rand) int64 { return r.Int64N(int64(10 * time.Millisecond)) }},
		// Latencies are skewed: a log-normal around a millisecond with a
		// long tail is what a server under load produces.
		{"log-normal", func(r *rand.Rand) int64 { return int64(math.Exp(r.NormFloat64()*1.5) * float64(time.Millisecond)) }},
		{"small exact values", func(r *rand.Rand) int64 { return r.Int64N(200) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := rand.New(rand.NewPCG(3, 4))
			var h Histogram
			vals := make([]int64, 100_000)
			for i := range vals {
				vals[i] = tt.gen(r)
				h.Record(time.Duration(vals[i]))
			}
			slices.Sort(vals)
			for _, q := range []float64{0, 0.5, 0.9, 0.99, 0.999, 1} {
				want := exactQuantile(vals, q)
				got := int64(h.Quantile(q))
				tol := max(float64(want)/subCount, 0)
				if want < 256 {
					tol = 0
				}
				if math.Abs(float64(got-want)) > tol {
					t.Errorf("q%g = %d, want %d within %.0f", q, got, want, tol)
				}
			}
			if h.Max() != time.Duration(vals[len(vals)-1]) {
				t.Errorf("Max = %d, want %d", h.Max(), vals[len(vals)-1])
			}
			if h.Count() != uint64(len(vals)) {
				t.Errorf("Count = %d, want %d", h.Count(), len(vals))
			}
		})
	}
}

func TestHistogramMergeAndEmpty(t *testing.T) {
	t.Parallel()
	var empty Histogram
	if empty.Quantile(0.5) != 0 || empty.Max() != 0 || empty.Mean() != 0 || empty.Summary().Count != 0 {
		t.Errorf("empty histogram = %+v, want zeros", empty.Summary())
	}
	var a, b, all Histogram
	for i := range 1000 {
		d := time.Duration(i) * time.Microsecond
		all.Record(d)
		if i%3 == 0 {
			a.Record(d)
		} else {
			b.Record(d)
		}
	}
	var m Histogram
	m.Merge(&a)
	m.Merge(&b)
	m.Merge(nil)
	m.Merge(&empty)
	if m.Summary() != all.Summary() {
		t.Errorf("merged = %+v, want %+v", m.Summary(), all.Summary())
	}
	if got, want := all.Mean(), 499500*time.Nanosecond; got != want {
		t.Errorf("Mean = %s, want %s", got, want)
	}
	// Negative durations (a clock step) count as zero rather than break.
	var n Histogram
	n.Record(-time.Second)
	if n.Max() != 0 || n.Quantile(1) != 0 {
		t.Errorf("negative value recorded as %s", n.Max())
	}
}

func TestSummaryInMilliseconds(t *testing.T) {
	t.Parallel()
	var h Histogram
	h.Record(1500 * time.Microsecond)
	s := h.Summary()
	// A single value is its own every quantile, up to bucket width.
	if math.Abs(s.P50-1.5) > 1.5/subCount || s.Max != 1.5 || s.Count != 1 {
		t.Errorf("Summary = %+v, want 1.5 ms throughout", s)
	}
}
