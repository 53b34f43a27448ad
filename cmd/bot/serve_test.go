package main

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// The defaults bound every way a client can hold a connection.
func TestDefaultHTTPLimits(t *testing.T) {
	t.Parallel()
	l := defaultHTTPLimits
	for name, d := range map[string]time.Duration{"ReadHeader": l.ReadHeader, "Read": l.Read, "Write": l.Write, "Idle": l.Idle} {
		if d <= 0 || d > 2*time.Minute {
			t.Errorf("defaultHTTPLimits.%s = %v, want between 0 and 2m", name, d)
		}
	}
	if l.MaxHeaderBytes <= 0 || l.MaxHeaderBytes > 64<<10 {
		t.Errorf("defaultHTTPLimits.MaxHeaderBytes = %d, want at most 64 KiB", l.MaxHeaderBytes)
	}
	srv := newHTTPServer(http.NotFoundHandler(), l)
	if srv.ReadHeaderTimeout != l.ReadHeader || srv.ReadTimeout != l.Read || srv.WriteTimeout != l.Write ||
		srv.IdleTimeout != l.Idle || srv.MaxHeaderBytes != l.MaxHeaderBytes {
		t.Errorf("newHTTPServer does not apply its limits: %+v", srv)
	}
}

// Issue 9: with no ReadTimeout or IdleTimeout, 400 slow connections were
// still held after 45 s. Slow headers, a slow body and an idle kept-alive
// connection are now each dropped after their limit (shortened here).
func TestSlowConnectionsDropped(t *testing.T) {
	t.Parallel()
	l := httpLimits{ReadHeader: 300 * time.Millisecond, Read: 600 * time.Millisecond, Write: time.Second,
		Idle: 400 * time.Millisecond, MaxHeaderBytes: 4 << 10}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, "ok")
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := newHTTPServer(mux, l)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	addr := ln.Addr().String()

	// dripFor opens a connection, sends start, then one byte of drip every
	// 50 ms, and reports how long until the server dropped it (or 5 s).
	dripFor := func(start, drip string) time.Duration {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Error(err)
			return 0
		}
		defer conn.Close()
		began := time.Now()
		io.WriteString(conn, start)
		closed := make(chan struct{})
		go func() {
			defer close(closed)
			conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			io.Copy(io.Discard, conn) // a 408 or 400 answer, then EOF
		}()
		for i := 0; ; i++ {
			select {
			case <-closed:
				return time.Since(began)
			case <-time.After(50 * time.Millisecond):
			}
			if _, err := io.WriteString(conn, string(drip[i%len(drip)])); err != nil {
				<-closed
				return time.Since(began)
			}
		}
	}

	const n = 40
	var mu sync.Mutex
	var worst time.Duration
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var d time.Duration
			if i%2 == 0 { // slow loris: headers that never end
				d = dripFor("POST / HTTP/1.1\r\nHost: x\r\n", "X-Pad: aaaaaaaa\r\n")
			} else { // headers at once, a body that trickles
				d = dripFor("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n", "a")
			}
			mu.Lock()
			worst = max(worst, d)
			mu.Unlock()
		}()
	}
	wg.Wait()
	t.Logf("%d slow connections (half slow headers, half slow bodies) all dropped; the last after %v", n, worst.Round(10*time.Millisecond))
	if worst > 2*time.Second {
		t.Errorf("a slow connection was held %v, want it dropped within ReadTimeout %v", worst, l.Read)
	}

	// An idle kept-alive connection is closed after Idle.
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	began := time.Now()
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = br.ReadByte()
	if idle := time.Since(began); !errors.Is(err, io.EOF) || idle > 2*time.Second {
		t.Errorf("idle connection: read = %v after %v, want EOF within about %v", err, idle, l.Idle)
	}

	// Headers over MaxHeaderBytes are refused.
	conn2, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn2.Close()
	io.WriteString(conn2, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: "+strings.Repeat("a", 16<<10)+"\r\n\r\n")
	conn2.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err = http.ReadResponse(bufio.NewReader(conn2), nil)
	if err != nil || resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("16 KiB header: %v %v, want 431", resp, err)
	}
}
