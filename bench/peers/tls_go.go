// SPDX-License-Identifier: MIT
// Go peer of bench/tls.sh: crypto/tls as a Go user would write it, default
// settings, on one loopback connection at a time per goroutine. The same
// command line and wire protocol as bench/weft_tls.cpp, so either client runs
// against either server.
//
//	tls_go server PORT MAX_SECONDS CERT KEY
//	tls_go handshake PORT CA full|resumed SECONDS CONNS SERVER_PID [WARMUP_SECONDS]
//	tls_go bulk PORT CA BYTES SERVER_PID
//
// server listens on 127.0.0.1:PORT (0: the kernel picks; it prints "PORT n"),
// serves every connection in a goroutine of its own and exits by itself after
// MAX_SECONDS. A connection's first plaintext byte says what it wants: 'h'
// (handshake) gets one byte back, then the server reads until the client
// closes; 'b' (bulk) has the server read and count everything until the
// client's close_notify and answer the count as "N\n".
//
// handshake runs CONNS goroutines, each connecting, handshaking, sending 'h',
// reading the answer (which also takes in the session tickets), sending
// close_notify and closing, over and over. After WARMUP_SECONDS (default 0.5)
// it counts the handshakes finished in the next SECONDS, and its own CPU time
// (getrusage) and the server's (/proc/SERVER_PID/stat) over the same span.
// full: no session cache, every handshake is a full one; resumed: one
// tls.NewLRUClientSessionCache, so every connection after the first tickets
// came resumes.
//
// bulk sends BYTES (64 KiB writes) through one connection, then close_notify,
// and waits for the server's count. The clock and the CPU counters run from
// after the handshake to the count.
//
// Both print RESULT key=value lines (bench/tls.sh collects them), INFO lines
// for people and NOTE lines for failures. run.sh's Go peers run with
// GOMAXPROCS=1; tls.sh runs these so too.
package main

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

const chunk = 64 * 1024

func die(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "tls_go: "+format+"\n", a...)
	os.Exit(1)
}

func atoi(s string) int {
	v, err := strconv.Atoi(s)
	if err != nil {
		die("not a number: %q", s)
	}
	return v
}

// selfCPU is this process's user + sys time in seconds, every thread.
func selfCPU() float64 {
	var r syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &r)
	return float64(r.Utime.Nano()+r.Stime.Nano()) / 1e9
}

// procCPU is process pid's user + sys time in seconds (fields 14 and 15 of
// /proc/pid/stat, in USER_HZ ticks: 100 a second on Linux), -1 if unreadable.
func procCPU(pid int) float64 {
	if pid <= 0 {
		return -1
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return -1
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return -1
	}
	u, _ := strconv.ParseFloat(f[11], 64)
	k, _ := strconv.ParseFloat(f[12], 64)
	return (u + k) / 100
}

func clientConfig(caFile string) *tls.Config {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		die("%v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		die("no certificate in %s", caFile)
	}
	return &tls.Config{RootCAs: pool}
}

// serve is one server connection.
func serve(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(60 * time.Second))
	var b [1]byte
	if _, err := io.ReadFull(c, b[:]); err != nil {
		return
	}
	switch b[0] {
	case 'h':
		if _, err := c.Write(b[:]); err != nil {
			return
		}
		io.Copy(io.Discard, c)
	case 'b':
		buf := make([]byte, chunk)
		var n int64
		for {
			k, err := c.Read(buf)
			n += int64(k)
			if err != nil {
				if err != io.EOF {
					return
				}
				break
			}
		}
		fmt.Fprintf(c, "%d\n", n)
	}
}

func server(args []string) {
	if len(args) < 4 {
		die("usage: tls_go server PORT MAX_SECONDS CERT KEY")
	}
	cert, err := tls.LoadX509KeyPair(args[2], args[3])
	if err != nil {
		die("%v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:"+args[0])
	if err != nil {
		die("%v", err)
	}
	fmt.Printf("PORT %d\n", ln.Addr().(*net.TCPAddr).Port)
	go func() {
		time.Sleep(time.Duration(atoi(args[1])) * time.Second)
		os.Exit(0)
	}()
	tl := tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}})
	for {
		c, err := tl.Accept()
		if err != nil {
			continue
		}
		go serve(c)
	}
}

type snapshot struct {
	at       time.Time
	count    int64
	resumed  int64
	cpu, srv float64
}

func handshake(args []string) {
	if len(args) < 6 {
		die("usage: tls_go handshake PORT CA full|resumed SECONDS CONNS SERVER_PID [WARMUP_SECONDS]")
	}
	addr := "127.0.0.1:" + args[0]
	cfg := clientConfig(args[1])
	mode := args[2]
	switch mode {
	case "full":
	case "resumed":
		cfg.ClientSessionCache = tls.NewLRUClientSessionCache(64)
	default:
		die("mode is full or resumed, not %q", mode)
	}
	seconds, _ := strconv.ParseFloat(args[3], 64)
	conns := atoi(args[4])
	pid := atoi(args[5])
	warmup := 0.5
	if len(args) > 6 {
		warmup, _ = strconv.ParseFloat(args[6], 64)
	}

	var count, resumed, failed atomic.Int64
	var stop atomic.Bool
	var mu sync.Mutex
	var once sync.Once
	firstErr := ""
	var protocol, cipher string
	dialer := &net.Dialer{Timeout: 10 * time.Second}
	one := func() error {
		c, err := tls.DialWithDialer(dialer, "tcp", addr, cfg)
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		b := []byte{'h'}
		if _, err := c.Write(b); err != nil {
			return err
		}
		if _, err := io.ReadFull(c, b); err != nil {
			return err
		}
		st := c.ConnectionState()
		if st.DidResume {
			resumed.Add(1)
		}
		once.Do(func() { protocol, cipher = tlsVersion(st.Version), tls.CipherSuiteName(st.CipherSuite) })
		count.Add(1)
		return nil
	}
	var wg sync.WaitGroup
	wg.Add(conns)
	for i := 0; i < conns; i++ {
		go func() {
			defer wg.Done()
			for !stop.Load() {
				if err := one(); err != nil {
					mu.Lock()
					if failed.Add(1) == 1 {
						firstErr = err.Error()
					}
					mu.Unlock()
					if failed.Load() > 100 {
						return
					}
				}
			}
		}()
	}
	snap := func() snapshot {
		return snapshot{time.Now(), count.Load(), resumed.Load(), selfCPU(), procCPU(pid)}
	}
	time.Sleep(time.Duration(warmup * float64(time.Second)))
	s0 := snap()
	time.Sleep(time.Duration(seconds * float64(time.Second)))
	s1 := snap()
	stop.Store(true)
	wg.Wait()

	n := float64(s1.count - s0.count)
	if failed.Load() > 0 {
		fmt.Printf("NOTE tls_go handshake %s: %d connections failed (first: %s)\n", mode, failed.Load(), firstErr)
	}
	fmt.Printf("INFO tls_go handshake %s: %s %s, %.0f handshakes in %.2f s, %d resumed\n", mode, protocol, cipher, n,
		s1.at.Sub(s0.at).Seconds(), s1.resumed-s0.resumed)
	if n == 0 {
		os.Exit(1)
	}
	fmt.Printf("RESULT handshakes_per_s=%.1f\n", n/s1.at.Sub(s0.at).Seconds())
	fmt.Printf("RESULT client_cpu_us=%.2f\n", (s1.cpu-s0.cpu)*1e6/n)
	if s0.srv >= 0 && s1.srv >= 0 {
		fmt.Printf("RESULT server_cpu_us=%.2f\n", (s1.srv-s0.srv)*1e6/n)
	}
	fmt.Printf("RESULT resumed_share=%.4f\n", float64(s1.resumed-s0.resumed)/n)
	fmt.Printf("RESULT failed=%d\n", failed.Load())
}

func tlsVersion(v uint16) string {
	switch v {
	case tls.VersionTLS13:
		return "TLSv1.3"
	case tls.VersionTLS12:
		return "TLSv1.2"
	}
	return fmt.Sprintf("0x%04x", v)
}

func bulk(args []string) {
	if len(args) < 4 {
		die("usage: tls_go bulk PORT CA BYTES SERVER_PID")
	}
	cfg := clientConfig(args[1])
	total, _ := strconv.ParseInt(args[2], 10, 64)
	pid := atoi(args[3])
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", "127.0.0.1:"+args[0], cfg)
	if err != nil {
		die("%v", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(120 * time.Second))
	if _, err := c.Write([]byte{'b'}); err != nil {
		die("%v", err)
	}
	buf := make([]byte, chunk)
	for i := range buf {
		buf[i] = byte(i * 7)
	}
	t0, cpu0, srv0 := time.Now(), selfCPU(), procCPU(pid)
	for sent := int64(0); sent < total; {
		k := int64(len(buf))
		if total-sent < k {
			k = total - sent
		}
		if _, err := c.Write(buf[:k]); err != nil {
			die("write: %v", err)
		}
		sent += k
	}
	if err := c.CloseWrite(); err != nil {
		die("close_notify: %v", err)
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		die("reading the count: %v", err)
	}
	t1, cpu1, srv1 := time.Now(), selfCPU(), procCPU(pid)
	got, _ := strconv.ParseInt(strings.TrimSpace(line), 10, 64)
	if got != total {
		fmt.Printf("NOTE tls_go bulk: the server counted %d bytes, not %d\n", got, total)
		os.Exit(1)
	}
	st := c.ConnectionState()
	secs := t1.Sub(t0).Seconds()
	mb := float64(total) / 1e6
	fmt.Printf("INFO tls_go bulk: %s %s, %d bytes in %.3f s\n", tlsVersion(st.Version), tls.CipherSuiteName(st.CipherSuite),
		total, secs)
	fmt.Printf("RESULT mb_per_s=%.1f\n", mb/secs)
	fmt.Printf("RESULT client_cpu_us=%.2f\n", (cpu1-cpu0)*1e6/mb)
	if srv0 >= 0 && srv1 >= 0 {
		fmt.Printf("RESULT server_cpu_us=%.2f\n", (srv1-srv0)*1e6/mb)
	}
}

func main() {
	if len(os.Args) < 2 {
		die("usage: tls_go server|handshake|bulk ...")
	}
	switch os.Args[1] {
	case "server":
		server(os.Args[2:])
	case "handshake":
		handshake(os.Args[2:])
	case "bulk":
		bulk(os.Args[2:])
	default:
		die("unknown mode %q", os.Args[1])
	}
}
