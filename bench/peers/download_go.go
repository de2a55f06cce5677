// SPDX-License-Identifier: MIT
// Go peer of bench/download.sh (issue 12): one GET of a large body, streamed
// to nothing as a Go user would write it: http.Get, then
// io.Copy(io.Discard, resp.Body). Checks status 200 and that the body is
// SIZE bytes, and prints RESULT bytes; download.sh times the whole process
// from outside (as it does curl and weft), and the INFO line has this
// program's own wall and CPU time around the GET. Run with GOMAXPROCS=1.
// usage: download_go URL SIZE
package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"syscall"
	"time"
)

func cpuMs(r *syscall.Rusage) float64 {
	return float64(r.Utime.Nano()+r.Stime.Nano()) / 1e6
}

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: download_go URL SIZE")
		os.Exit(2)
	}
	url := os.Args[1]
	size, _ := strconv.ParseInt(os.Args[2], 10, 64)

	var r0, r1 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &r0)
	t0 := time.Now()
	var got int64
	status := 0
	resp, err := http.Get(url)
	if err == nil {
		status = resp.StatusCode
		got, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	wall := float64(time.Since(t0).Nanoseconds()) / 1e6
	syscall.Getrusage(syscall.RUSAGE_SELF, &r1)

	ok := err == nil && status == 200 && got == size
	if !ok {
		fmt.Printf("NOTE download_go: status %d, %d of %d bytes (error: %v)\n", status, got, size, err)
	}
	fmt.Printf("INFO download_go: %.1f ms, %.1f ms CPU around the GET\n", wall, cpuMs(&r1)-cpuMs(&r0))
	fmt.Printf("RESULT bytes=%d\n", got)
	if !ok {
		os.Exit(1)
	}
}
