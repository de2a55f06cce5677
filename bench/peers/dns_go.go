// SPDX-License-Identifier: MIT
// Go peer for bench/'s dns benchmark: N lookups of distinct names
// ("name0.bench" ...) at once, a goroutine each, through Go's own resolver
// (net.Resolver{PreferGo: true}) whose Dial goes to the one server given, each
// asking for A records (LookupIP "ip4"). Measures wall time and the process's
// CPU time (getrusage: user + sys, every thread) around the lookups. run.sh
// runs it with GOMAXPROCS=1, as the other Go peers, and builds it with `go build`.
// A lookup that fails (Go's own tries, or TIMEOUT_S for all of them, passed) is
// lost; bench/dns.sh's burst counts them.
// usage: dns_go SERVER [N [TIMEOUT_S]]   (SERVER: "127.0.0.1:53"; default 10,000 lookups, 30 s)
package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"
)

func cpuMs(r *syscall.Rusage) (user, sys float64) {
	return float64(r.Utime.Nano()) / 1e6, float64(r.Stime.Nano()) / 1e6
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: dns_go SERVER [N [TIMEOUT_S]]")
		os.Exit(2)
	}
	server := os.Args[1]
	n := 10000
	if len(os.Args) > 2 {
		n, _ = strconv.Atoi(os.Args[2])
	}
	timeout := 30
	if len(os.Args) > 3 {
		timeout, _ = strconv.Atoi(os.Args[3])
	}
	r := &net.Resolver{
		PreferGo: true,
		// The resolver's own network (udp, or tcp after a truncated answer) to our server.
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, server)
		},
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(timeout)*time.Second)
	defer cancel()

	var r0, r1 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &r0)
	t0 := time.Now()
	var mu sync.Mutex
	failed, wrong := 0, 0
	firstErr := ""
	var wg sync.WaitGroup
	wg.Add(n)
	for i := 0; i < n; i++ {
		go func(i int) {
			defer wg.Done()
			ips, err := r.LookupIP(ctx, "ip4", "name"+strconv.Itoa(i)+".bench")
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if failed == 0 {
					firstErr = err.Error()
				}
				failed++
			} else if len(ips) != 1 || ips[0].String() != "192.0.2.1" {
				wrong++
			}
		}(i)
	}
	wg.Wait()
	wall := float64(time.Since(t0).Nanoseconds()) / 1e6
	syscall.Getrusage(syscall.RUSAGE_SELF, &r1)
	u0, s0 := cpuMs(&r0)
	u1, s1 := cpuMs(&r1)

	if failed > 0 {
		fmt.Printf("NOTE go_dns: %d of %d lookups failed (first: %s)\n", failed, n, firstErr)
	}
	if wrong > 0 {
		fmt.Printf("NOTE go_dns: %d of %d lookups gave another address\n", wrong, n)
	}
	fmt.Printf("RESULT go_dns_wall_ms=%.2f\n", wall)
	fmt.Printf("RESULT go_dns_cpu_ms=%.2f\n", (u1-u0)+(s1-s0))
	fmt.Printf("RESULT go_dns_user_ms=%.2f\n", u1-u0)
	fmt.Printf("RESULT go_dns_sys_ms=%.2f\n", s1-s0)
	fmt.Printf("RESULT go_dns_failed=%d\n", failed+wrong)
	if failed+wrong > 0 {
		os.Exit(1)
	}
}
