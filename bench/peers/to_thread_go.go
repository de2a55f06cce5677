// SPDX-License-Identifier: MIT
// Go peer of bench/'s to_thread benchmark. Go needs no to_thread: a goroutine
// that blocks in a system call keeps its OS thread, and the runtime hands the
// P to another thread so the other goroutines run on. So the peer measures
// the same round trip two ways:
//   syscall: a goroutine makes a blocking system call (a read of an empty
//            pipe that another goroutine's write completes), with
//            GOMAXPROCS=1: the runtime's hand-off of the P, Go's to_thread;
//   thread:  a request to a goroutine locked to its own OS thread
//            (runtime.LockOSThread) through channels, and its reply: the
//            shape of weft::to_thread.
// each as one goroutine in a row (one) and C goroutines at once, N in all (many).
// usage: to_thread_go [N [C]]   (default 20,000 calls, 64 goroutines)
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// lockedPool is `size` goroutines, each locked to an OS thread, running funcs.
type job struct {
	fn   func()
	done chan struct{}
}

func lockedPool(size int) chan job {
	jobs := make(chan job, 1024)
	for i := 0; i < size; i++ {
		go func() {
			runtime.LockOSThread()
			for j := range jobs {
				j.fn()
				j.done <- struct{}{}
			}
		}()
	}
	return jobs
}

func noop() {}

// threadRoundTrip hands noop to the locked pool and waits for it.
func threadRoundTrip(jobs chan job, done chan struct{}) {
	jobs <- job{noop, done}
	<-done
}

// syscallRoundTrip blocks in read(2) on a pipe until a helper goroutine,
// woken by a channel, writes one byte into it.
type pipePair struct {
	r, w int
	kick chan struct{}
}

func newPipe() *pipePair {
	var fds [2]int
	if err := syscall.Pipe(fds[:]); err != nil {
		panic(err)
	}
	p := &pipePair{fds[0], fds[1], make(chan struct{})}
	go func() {
		b := []byte{1}
		for range p.kick {
			syscall.Write(p.w, b)
		}
	}()
	return p
}

func (p *pipePair) roundTrip() {
	var b [1]byte
	p.kick <- struct{}{}
	syscall.Read(p.r, b[:]) // blocks the thread, not the program
}

func measure(n, c int, one func(int) func()) (float64, float64) {
	f := one(0)
	t0 := time.Now()
	for i := 0; i < n; i++ {
		f()
	}
	single := float64(time.Since(t0).Nanoseconds()) / float64(n)
	var wg sync.WaitGroup
	t0 = time.Now()
	for g := 0; g < c; g++ {
		wg.Add(1)
		go func(g int) {
			f := one(g + 1)
			for i := g; i < n; i += c {
				f()
			}
			wg.Done()
		}(g)
	}
	wg.Wait()
	return single, float64(time.Since(t0).Nanoseconds()) / float64(n)
}

func main() {
	n, c := 20000, 64
	if len(os.Args) > 1 {
		n, _ = strconv.Atoi(os.Args[1])
	}
	if len(os.Args) > 2 {
		c, _ = strconv.Atoi(os.Args[2])
	}
	cpus := runtime.NumCPU()
	size := cpus + 4
	if size > 32 {
		size = 32
	}
	jobs := lockedPool(size)
	tOne, tMany := measure(n, c, func(int) func() {
		done := make(chan struct{})
		return func() { threadRoundTrip(jobs, done) }
	})
	pipes := make([]*pipePair, c+1)
	for i := range pipes {
		pipes[i] = newPipe()
	}
	sOne, sMany := measure(n, c, func(g int) func() { return pipes[g].roundTrip })
	fmt.Printf("RESULT go_thread_one_ns=%.0f\n", tOne)
	fmt.Printf("RESULT go_thread_many_ns=%.0f\n", tMany)
	fmt.Printf("RESULT go_syscall_one_ns=%.0f\n", sOne)
	fmt.Printf("RESULT go_syscall_many_ns=%.0f\n", sMany)
	fmt.Printf("INFO GOMAXPROCS=%d; locked pool of %d threads\n", runtime.GOMAXPROCS(0), size)
}
