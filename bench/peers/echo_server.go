// SPDX-License-Identifier: MIT
// Go peer for bench/'s echo benchmark: net.Listen on 127.0.0.1, a goroutine
// per connection that reads into a 16 KiB buffer and writes back what it read.
// Run it with GOMAXPROCS=1 for the one-core comparison. run.sh builds it with
// `go build`.
// usage: echo_server PORT [MAX_SECONDS=60]
//   PORT 0 picks a free port; it prints "PORT n" once it listens, and exits
//   by itself after MAX_SECONDS.
package main

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"time"
)

func serve(c net.Conn) {
	defer c.Close()
	buf := make([]byte, 16384)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if _, err := c.Write(buf[:n]); err != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: echo_server PORT [MAX_SECONDS]")
		os.Exit(2)
	}
	maxSeconds := 60
	if len(os.Args) > 2 {
		maxSeconds, _ = strconv.Atoi(os.Args[2])
	}
	time.AfterFunc(time.Duration(maxSeconds)*time.Second, func() { os.Exit(0) })

	ln, err := net.Listen("tcp4", "127.0.0.1:"+os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "echo_server:", err)
		os.Exit(1)
	}
	fmt.Printf("PORT %d\n", ln.Addr().(*net.TCPAddr).Port)
	for {
		c, err := ln.Accept()
		if err != nil {
			// Out of fds, or an aborted handshake: back off a little and go on.
			time.Sleep(time.Millisecond)
			continue
		}
		go serve(c)
	}
}
