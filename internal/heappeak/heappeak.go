// Package heappeak measures the peak heap of a piece of work, for
// benchmarks that report memory targets with b.ReportMetric.
package heappeak

import (
	"runtime"
	"runtime/metrics"
	"sync"
	"time"
)

// Sampler samples the heap in use (objects and the unused space of their
// spans) every millisecond from Start until Stop.
type Sampler struct {
	stop chan struct{}
	wg   sync.WaitGroup
	peak uint64
}

// Start collects garbage, then starts sampling.
func Start() *Sampler {
	runtime.GC()
	s := &Sampler{stop: make(chan struct{})}
	samples := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/unused:bytes"}}
	sample := func() {
		metrics.Read(samples)
		s.peak = max(s.peak, samples[0].Value.Uint64()+samples[1].Value.Uint64())
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-s.stop:
				sample()
				return
			case <-t.C:
				sample()
			}
		}
	}()
	return s
}

// Stop ends the sampling and returns the peak heap in use, in MiB.
func (s *Sampler) Stop() float64 {
	close(s.stop)
	s.wg.Wait()
	return float64(s.peak) / (1 << 20)
}
