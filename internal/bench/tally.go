package bench

import (
	"sync"
	"time"
)

// maxSeq bounds the sequence numbers the tally accepts, so that a stray
// request cannot make it allocate without limit: 64 million messages is
// far beyond any scenario.
const maxSeq = 1 << 26

// Tally is the sink's account of what arrived: how many times each
// (message, endpoint) pair was delivered, the publish-to-delivery latency
// of each first delivery, and when the first and last arrived. It is safe
// for concurrent use.
type Tally struct {
	mu sync.Mutex
	// counts[ep][seq] is how many times message seq reached endpoint ep,
	// saturating at 255; a byte each keeps a million messages in 1 MB.
	counts      [][]uint8
	lat         Histogram
	distinct    int64
	duplicates  int64
	failed      int64
	foreign     int64
	abandoned   int64
	first, last time.Time
}

// NewTally returns a Tally for the given number of endpoints.
func NewTally(endpoints int) *Tally {
	return &Tally{counts: make([][]uint8, endpoints)}
}

// Delivered records that message seq, sent at unix nanosecond sent,
// reached endpoint ep at now. It reports whether this was the first
// delivery of that message to that endpoint; only first deliveries count
// toward latency and the delivery phase, as a duplicate is work the
// receiver did not need.
func (t *Tally) Delivered(ep int, seq int64, sent int64, now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if ep < 0 || ep >= len(t.counts) || seq < 0 || seq >= maxSeq {
		t.foreign++
		return false
	}
	c := t.counts[ep]
	if int(seq) >= len(c) {
		n := max(2*len(c), int(seq)+1, 1024)
		grown := make([]uint8, min(n, maxSeq))
		copy(grown, c)
		c = grown
		t.counts[ep] = c
	}
	if c[seq] < 255 {
		c[seq]++
	}
	if c[seq] > 1 {
		t.duplicates++
		return false
	}
	t.distinct++
	t.lat.Record(time.Duration(now.UnixNano() - sent))
	if t.first.IsZero() || now.Before(t.first) {
		t.first = now
	}
	if now.After(t.last) {
		t.last = now
	}
	return true
}

// Failed records a request the sink answered with an error on purpose
// (the flaky scenario's 500s): hookline has to retry it.
func (t *Tally) Failed() {
	t.mu.Lock()
	t.failed++
	t.mu.Unlock()
}

// Abandoned records a held request whose sender went away before the sink
// came up, such as the server killed in the backlog scenario: it is not a
// delivery, and the restarted server sends it again.
func (t *Tally) Abandoned() {
	t.mu.Lock()
	t.abandoned++
	t.mu.Unlock()
}

// Foreign records a request that was not one of this run's deliveries.
func (t *Tally) Foreign() {
	t.mu.Lock()
	t.foreign++
	t.mu.Unlock()
}

// Distinct returns how many (message, endpoint) pairs have been delivered.
func (t *Tally) Distinct() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.distinct
}

// TallyStats is a snapshot of a Tally.
type TallyStats struct {
	// Distinct counts (message, endpoint) pairs delivered at least once.
	Distinct int64
	// Duplicates counts deliveries beyond the first of a pair.
	Duplicates int64
	// Failed counts requests answered with a deliberate error.
	Failed int64
	// Foreign counts requests that were not this run's deliveries.
	Foreign int64
	// Abandoned counts held requests whose sender went away.
	Abandoned int64
	// First and Last are when the first and the last first delivery came.
	First, Last time.Time
	// Latency is the publish-to-delivery latency of first deliveries.
	Latency Histogram
}

// Stats returns a snapshot of t.
func (t *Tally) Stats() TallyStats {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := TallyStats{Distinct: t.distinct, Duplicates: t.duplicates, Failed: t.failed, Foreign: t.foreign,
		Abandoned: t.abandoned, First: t.first, Last: t.last}
	s.Latency.Merge(&t.lat)
	return s
}

// Missing compares the deliveries with the messages hookline accepted: lost
// counts (accepted message, endpoint) pairs never delivered, and unacked
// counts pairs delivered for messages whose publish got no 202 (such as
// one whose answer timed out after hookline stored it), which are not
// errors of hookline's.
func (t *Tally) Missing(accepted *SeqSet) (lost, unacked int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	accepted.mu.Lock()
	defer accepted.mu.Unlock()
	for _, c := range t.counts {
		for w, word := range accepted.bits {
			for b := range 64 {
				if word&(1<<b) == 0 {
					continue
				}
				seq := w*64 + b
				if seq >= len(c) || c[seq] == 0 {
					lost++
				}
			}
		}
		for seq, n := range c {
			if n > 0 && !accepted.hasLocked(int64(seq)) {
				unacked++
			}
		}
	}
	return lost, unacked
}

// SeqSet is a set of message sequence numbers, such as those hookline
// accepted. It is safe for concurrent use.
type SeqSet struct {
	mu   sync.Mutex
	bits []uint64
	n    int64
}

// Add puts seq in the set.
func (s *SeqSet) Add(seq int64) {
	if seq < 0 || seq >= maxSeq {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	w := int(seq / 64)
	if w >= len(s.bits) {
		grown := make([]uint64, max(2*len(s.bits), w+1, 64))
		copy(grown, s.bits)
		s.bits = grown
	}
	if s.bits[w]&(1<<(seq%64)) == 0 {
		s.bits[w] |= 1 << (seq % 64)
		s.n++
	}
}

// Has reports whether seq is in the set.
func (s *SeqSet) Has(seq int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hasLocked(seq)
}

func (s *SeqSet) hasLocked(seq int64) bool {
	w := int(seq / 64)
	return seq >= 0 && w < len(s.bits) && s.bits[w]&(1<<(seq%64)) != 0
}

// Len returns the number of members.
func (s *SeqSet) Len() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}
