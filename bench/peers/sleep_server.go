// SPDX-License-Identifier: MIT
// The one server of bench/'s fetch_many benchmark: Go net/http, every GET /
// sleeps 1 s and answers "Hello!" (the asyncio lesson's server, scaled). Every
// client (weft, aiohttp, Go) fetches from it. Listens on 127.0.0.1:PORT (port
// 0: the kernel picks; it prints "PORT n" either way), with the listen backlog
// Go asks for (the kernel's net.core.somaxconn). Raises its descriptor limit to
// the hard limit, and exits by itself after MAX_SECONDS (default 120). On
// SIGTERM it prints "INFO requests N cpu_ms C in_ms I out_ms O": the requests
// it answered, its CPU time, and how long after the first request came in the
// last one came in (I) and the last answer was written (O; the floor is 1000).
// With CERT and KEY (PEM files) it serves HTTPS instead (bench/tls.sh's
// https fetch): crypto/tls's defaults, HTTP/1.1 only, as the plain server.
// usage: sleep_server PORT [MAX_SECONDS [CERT KEY]]
package main

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"
)

func storeMax(v *atomic.Int64, x int64) {
	for {
		old := v.Load()
		if x <= old || v.CompareAndSwap(old, x) {
			return
		}
	}
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: sleep_server PORT [MAX_SECONDS [CERT KEY]]")
		os.Exit(2)
	}
	maxSeconds := 120
	if len(os.Args) > 2 {
		maxSeconds, _ = strconv.Atoi(os.Args[2])
	}
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) == nil && lim.Cur < lim.Max {
		lim.Cur = lim.Max
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	}

	// When the first and the last request came in, and when the last answer
	// went out (ns since start): how long the server took to take the burst in.
	start := time.Now()
	var served, firstIn, lastIn, lastOut atomic.Int64
	firstIn.Store(-1)
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		in := int64(time.Since(start))
		firstIn.CompareAndSwap(-1, in)
		storeMax(&lastIn, in)
		time.Sleep(time.Second)
		w.Write([]byte("Hello!"))
		served.Add(1)
		storeMax(&lastOut, int64(time.Since(start)))
	})
	ln, err := net.Listen("tcp", "127.0.0.1:"+os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "sleep_server:", err)
		os.Exit(1)
	}
	fmt.Printf("PORT %d\n", ln.Addr().(*net.TCPAddr).Port)

	done := make(chan os.Signal, 1)
	signal.Notify(done, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		select {
		case <-done:
		case <-time.After(time.Duration(maxSeconds) * time.Second):
		}
		var ru syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		f := firstIn.Load()
		fmt.Printf("INFO requests %d cpu_ms %.1f in_ms %.1f out_ms %.1f nofile %d\n", served.Load(),
			float64(ru.Utime.Nano()+ru.Stime.Nano())/1e6, float64(lastIn.Load()-f)/1e6,
			float64(lastOut.Load()-f)/1e6, lim.Cur)
		os.Exit(0)
	}()
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 30 * time.Second}
	if len(os.Args) > 4 {
		// A non-nil empty TLSNextProto keeps HTTP/2 off: every client speaks HTTP/1.1.
		srv.TLSNextProto = map[string]func(*http.Server, *tls.Conn, http.Handler){}
		err = srv.ServeTLS(ln, os.Args[3], os.Args[4])
		fmt.Fprintln(os.Stderr, "sleep_server:", err)
		os.Exit(1)
	}
	srv.Serve(ln)
}
