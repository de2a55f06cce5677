// SPDX-License-Identifier: MIT
// Go peer of bench/'s fetch_many benchmark: N concurrent GETs of one URL, a
// goroutine each, through one net/http Client whose Transport lets all N run
// at once (no cap on connections per host, room for N idle ones). Each reads
// the whole body and checks it is "Hello!". Measures wall time and the
// process's CPU time (getrusage: user + sys, every thread) around the GETs
// and the closing of the idle connections they leave.
// run.sh runs it with GOMAXPROCS=1, as the other Go peers. With CA_FILE (for
// an https:// URL, bench/tls.sh) the Transport trusts that PEM file's
// certificates only; crypto/tls's defaults otherwise (no session cache).
// usage: fetch_go URL [N [CA_FILE]]   (default 1,000; every GET bounded by 60 s)
package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
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
		fmt.Fprintln(os.Stderr, "usage: fetch_go URL [N [CA_FILE]]")
		os.Exit(2)
	}
	url := os.Args[1]
	n := 1000
	if len(os.Args) > 2 {
		n, _ = strconv.Atoi(os.Args[2])
	}
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) == nil && lim.Cur < lim.Max {
		lim.Cur = lim.Max
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	}
	tr := &http.Transport{
		MaxIdleConns:        0, // no limit
		MaxIdleConnsPerHost: n,
		MaxConnsPerHost:     0, // no limit
		DisableCompression:  true,
	}
	if len(os.Args) > 3 {
		pem, err := os.ReadFile(os.Args[3])
		pool := x509.NewCertPool()
		if err != nil || !pool.AppendCertsFromPEM(pem) {
			fmt.Fprintln(os.Stderr, "fetch_go: no certificate in", os.Args[3], err)
			os.Exit(2)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool}
	}
	client := &http.Client{Transport: tr, Timeout: 60 * time.Second}

	var r0, r1 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &r0)
	t0 := time.Now()
	var mu sync.Mutex
	failed := 0
	firstErr := ""
	var wg sync.WaitGroup
	wg.Add(n)
	for i := 0; i < n; i++ {
		go func() {
			defer wg.Done()
			resp, err := client.Get(url)
			var body []byte
			if err == nil {
				body, err = io.ReadAll(resp.Body)
				resp.Body.Close()
			}
			if err == nil && string(body) == "Hello!" {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if failed == 0 {
				if err != nil {
					firstErr = err.Error()
				} else {
					firstErr = fmt.Sprintf("body %q", body)
				}
			}
			failed++
		}()
	}
	wg.Wait()
	// As weft (the end of run()) and aiohttp (the session's end) do: close
	// the connections inside the measured time, not at exit.
	tr.CloseIdleConnections()
	wall := float64(time.Since(t0).Nanoseconds()) / 1e6
	syscall.Getrusage(syscall.RUSAGE_SELF, &r1)
	u0, s0 := cpuMs(&r0)
	u1, s1 := cpuMs(&r1)

	if failed > 0 {
		fmt.Printf("NOTE fetch_go: %d of %d GETs failed (first: %s)\n", failed, n, firstErr)
	}
	fmt.Printf("RESULT wall_ms=%.2f\n", wall)
	fmt.Printf("RESULT cpu_ms=%.2f\n", (u1-u0)+(s1-s0))
	fmt.Printf("RESULT user_ms=%.2f\n", u1-u0)
	fmt.Printf("RESULT sys_ms=%.2f\n", s1-s0)
	fmt.Printf("RESULT failed=%d\n", failed)
	if failed > 0 {
		os.Exit(1)
	}
}
