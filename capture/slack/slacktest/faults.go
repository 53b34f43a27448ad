package slacktest

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
)

// RateLimit makes the next calls of method ("files" for file downloads)
// answer 429 with the given Retry-After seconds, one call per value, as
// https://api.slack.com/docs/rate-limits describes.
func (s *Server) RateLimit(method string, retryAfter ...int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limited[method] = append(s.limited[method], retryAfter...)
}

// Failure is how a Web API call fails instead of being answered. Slack
// answers an error with HTTP 200 and {"ok":false,"error":"<code>"}
// (https://api.slack.com/web, "Basics"), such as the internal_error,
// fatal_error, service_unavailable and request_timeout that any method,
// auth.revoke too, may answer when Slack is in trouble
// (https://docs.slack.dev/reference/methods/auth.revoke, "Errors"); a
// gateway in front of it may answer 5xx without JSON; and over its rate
// limit Slack answers 429 with Retry-After
// (https://api.slack.com/docs/rate-limits).
type Failure struct {
	// Error, when set, is the code of an {"ok":false} answer.
	Error string
	// Status, when set, is the HTTP status answered (with an HTML body,
	// as Slack's load balancers send).
	Status int
	// RetryAfter, with Status 429, is the Retry-After header in seconds.
	RetryAfter int
	// Drop closes the connection without an answer: a network failure.
	Drop bool
}

// Fail makes the next calls of method fail, one call per Failure, before
// the method is carried out: a transient failure.
func (s *Server) Fail(method string, fs ...Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failing[method] = append(s.failing[method], fs...)
}

// FailAlways makes every call of method fail with f, until Recover: a
// lasting failure.
func (s *Server) FailAlways(method string, f Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.broken[method] = f
}

// Recover ends FailAlways for method.
func (s *Server) Recover(method string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.broken, method)
}

// failure returns the failure the current call of method meets, if any.
// s.mu is held.
func (s *Server) failure(method string) (Failure, bool) {
	if fs := s.failing[method]; len(fs) > 0 {
		s.failing[method] = fs[1:]
		return fs[0], true
	}
	f, ok := s.broken[method]
	return f, ok
}

func (f Failure) write(w http.ResponseWriter) {
	switch {
	case f.Drop:
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return
			}
		}
		http.Error(w, "", http.StatusBadGateway)
	case f.Status != 0:
		if f.Status == http.StatusTooManyRequests && f.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(f.RetryAfter))
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(f.Status)
		io.WriteString(w, "<!DOCTYPE html><html><body>Slack is having trouble</body></html>")
	default:
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		json.NewEncoder(w).Encode(fail(f.Error))
	}
}
