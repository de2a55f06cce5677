// SPDX-License-Identifier: MIT
// Go peer for bench/'s http_server benchmark: net/http, every request answered
// "Hello, world!" (13 bytes, text/plain) over keep-alive — the hello world a
// Go user would write. Run it with GOMAXPROCS=N for N cores (the benchmark
// sets it beside weft's THREADS). bench/http_server.sh builds it with
// `go build`; bench/device_prepare.sh builds it static (CGO_ENABLED=0).
// usage: http_server_go PORT [MAX_SECONDS=60]. PORT 0 picks a free port; it
// prints "PORT n" once it listens on 127.0.0.1, and exits by itself after
// MAX_SECONDS. The listen backlog is what Go asks for, the kernel's
// net.core.somaxconn; the descriptor limit is raised to the hard limit.
package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"syscall"
	"time"
)

var hello = []byte("Hello, world!")

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: http_server_go PORT [MAX_SECONDS]")
		os.Exit(2)
	}
	maxSeconds := 60
	if len(os.Args) > 2 {
		maxSeconds, _ = strconv.Atoi(os.Args[2])
	}
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) == nil && lim.Cur < lim.Max {
		lim.Cur = lim.Max
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	}
	time.AfterFunc(time.Duration(maxSeconds)*time.Second, func() { os.Exit(0) })

	ln, err := net.Listen("tcp4", "127.0.0.1:"+os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "http_server_go:", err)
		os.Exit(1)
	}
	fmt.Printf("PORT %d\n", ln.Addr().(*net.TCPAddr).Port)
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write(hello)
	})
	if err := http.Serve(ln, handler); err != nil {
		fmt.Fprintln(os.Stderr, "http_server_go:", err)
		os.Exit(1)
	}
}
