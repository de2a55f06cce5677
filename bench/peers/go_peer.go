// SPDX-License-Identifier: MIT
// Peer for switch, spawn and idle: the Go runtime on one P (GOMAXPROCS=1),
// the same three measurements as weft's programs. run.sh builds it with
// `go build` at run time.
// usage: go_peer switch [N] | spawn [N] | idle [N]
package main

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

var sink int64

func statm(i int) int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return -1
	}
	v, _ := strconv.ParseInt(strings.Fields(string(b))[i], 10, 64)
	return v * int64(os.Getpagesize())
}

func mapCount() int {
	b, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return -1
	}
	return bytes.Count(b, []byte{'\n'})
}

// yieldPair: two goroutines call runtime.Gosched() n times each; each call is
// one switch to the other.
func yieldPair(n int) time.Duration {
	var wg sync.WaitGroup
	wg.Add(2)
	t0 := time.Now()
	for g := 0; g < 2; g++ {
		go func() {
			for i := 0; i < n; i++ {
				runtime.Gosched()
			}
			wg.Done()
		}()
	}
	wg.Wait()
	return time.Since(t0)
}

func body() { atomic.AddInt64(&sink, 1) }

func batch(n int) float64 {
	var wg sync.WaitGroup
	t0 := time.Now()
	wg.Add(n)
	for i := 0; i < n; i++ {
		go func() { body(); wg.Done() }()
	}
	wg.Wait()
	return float64(time.Since(t0).Nanoseconds()) / float64(n)
}

// batchAlive is batch with every goroutine held at a gate until all n exist:
// in batch, the runtime preempts the spawning goroutine every 10 ms and most
// goroutines have run and exited (their g and stack reused) before the loop
// ends; weft's and Boost.Fiber's batches keep all n alive at once.
func batchAlive(n int) float64 {
	var wg sync.WaitGroup
	gate := make(chan struct{})
	t0 := time.Now()
	wg.Add(n)
	for i := 0; i < n; i++ {
		go func() { <-gate; body(); wg.Done() }()
	}
	close(gate)
	wg.Wait()
	return float64(time.Since(t0).Nanoseconds()) / float64(n)
}

func seq(n int) float64 {
	t0 := time.Now()
	for i := 0; i < n; i++ {
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { body(); wg.Done() }()
		wg.Wait()
	}
	return float64(time.Since(t0).Nanoseconds()) / float64(n)
}

func idle(n int) {
	runtime.GC()
	block := make(chan struct{})
	var started, done sync.WaitGroup
	started.Add(n)
	done.Add(n)
	r0, v0, m0 := statm(1), statm(0), mapCount()
	t0 := time.Now()
	for i := 0; i < n; i++ {
		go func() {
			started.Done()
			<-block
			done.Done()
		}()
	}
	started.Wait()
	d := time.Since(t0)
	r1, v1, m1 := statm(1), statm(0), mapCount()
	fmt.Printf("INFO go created=%d maps_before=%d maps_after=%d spawn+block=%.0f ns/goroutine\n",
		n, m0, m1, float64(d.Nanoseconds())/float64(n))
	fmt.Printf("RESULT go_idle_rss_bytes=%.0f\n", float64(r1-r0)/float64(n))
	fmt.Printf("RESULT go_idle_vsz_bytes=%.0f\n", float64(v1-v0)/float64(n))
	fmt.Printf("RESULT go_idle_maps=%d\n", m1-m0)
	fmt.Printf("RESULT go_idle_created=%d\n", n)
	close(block)
	done.Wait()
}

func main() {
	runtime.GOMAXPROCS(1)
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: go_peer switch|spawn|idle [N]")
		os.Exit(2)
	}
	n := 0
	if len(os.Args) > 2 {
		n, _ = strconv.Atoi(os.Args[2])
	}
	switch os.Args[1] {
	case "switch":
		if n == 0 {
			n = 5000000
		}
		yieldPair(n) // warm-up
		d := yieldPair(n)
		fmt.Printf("RESULT go_yield_ns=%.3f\n", float64(d.Nanoseconds())/float64(2*n))
	case "spawn":
		if n == 0 {
			n = 100000
		}
		fmt.Printf("RESULT go_spawn_batch_ns=%.1f\n", batch(n))
		fmt.Printf("RESULT go_spawn_seq_ns=%.1f\n", seq(n))
		fmt.Printf("RESULT go_spawn_batch_warm_ns=%.1f\n", batch(n))
		fmt.Printf("RESULT go_spawn_batch_alive_ns=%.1f\n", batchAlive(n))
	case "idle":
		if n == 0 {
			n = 1000000
		}
		idle(n)
	default:
		fmt.Fprintln(os.Stderr, "usage: go_peer switch|spawn|idle [N]")
		os.Exit(2)
	}
}
