package dispatch

import (
	"math"

	"github.com/hookline/hookline"
)

// payloads counts the payload bytes of the deliveries a dispatcher holds,
// from the moment they are queued until their worker is done with them,
// each message once however many of its deliveries are held: the
// deliveries of one message, handed over by a publish or claimed together,
// share it. The dispatcher's mu guards it.
type payloads struct {
	refs  map[*hookline.Message]int
	bytes int64
	// est is the payload size claims and leases plan with, per delivery:
	// the largest of late, held or handed back, so that a claim planned
	// with it rarely brings more than fits. It decays by a 64th with each
	// message held.
	est int64
}

// fits reports whether holding a delivery of m keeps the bytes held within
// limit. A message already held costs nothing more, and the first one
// always fits, so that a payload larger than limit is still sent.
func (p *payloads) fits(m *hookline.Message, limit int64) bool {
	return p.refs[m] > 0 || p.bytes == 0 || p.bytes+int64(len(m.Payload)) <= limit
}

// hold counts a delivery of m as held.
func (p *payloads) hold(m *hookline.Message) {
	if p.refs == nil {
		p.refs = make(map[*hookline.Message]int)
	}
	if p.refs[m] == 0 {
		n := int64(len(m.Payload))
		p.bytes += n
		p.est = max(n, p.est-p.est/64)
	}
	p.refs[m]++
}

// refuse records that a delivery of m did not fit: the next claims plan
// with its size at least, so that they do not take it again, and hand it
// back again, before that much room is free.
func (p *payloads) refuse(m *hookline.Message) {
	p.est = max(p.est, int64(len(m.Payload)))
}

// drop counts a delivery of m as no longer held.
func (p *payloads) drop(m *hookline.Message) {
	switch n := p.refs[m]; n {
	case 0:
	case 1:
		delete(p.refs, m)
		p.bytes -= int64(len(m.Payload))
	default:
		p.refs[m] = n - 1
	}
}

// room returns how many more deliveries the bytes left below limit have
// room for, each planned at est bytes.
func (p *payloads) room(limit int64) int {
	left := limit - p.bytes
	if left <= 0 {
		return 0
	}
	return int(min(left/p.per(limit), math.MaxInt32))
}

// capacity returns how many deliveries limit has room for when nothing is
// held, each planned at est bytes; at least one.
func (p *payloads) capacity(limit int64) int {
	return int(max(1, min(limit/p.per(limit), math.MaxInt32)))
}

// per returns the bytes to plan each delivery at: est, but no more than
// limit, so that a payload larger than the bound, which fits when nothing
// else is held, leaves room for one delivery at a time and not for none.
func (p *payloads) per(limit int64) int64 {
	return min(max(p.est, 1), limit)
}
