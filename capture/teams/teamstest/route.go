package teamstest

// Routing a request to the login service or Graph, and what every route
// checks first: the token, the page size.

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	sw := &statusWriter{ResponseWriter: w}
	route := s.route(sw, r)
	s.record(r, route, sw.status)
}

// segments splits an escaped path into unescaped segments.
func segments(r *http.Request) []string {
	raw := strings.Split(strings.Trim(r.URL.EscapedPath(), "/"), "/")
	out := make([]string, len(raw))
	for i, p := range raw {
		u, err := url.PathUnescape(p)
		if err != nil {
			u = p
		}
		out[i] = u
	}
	return out
}

func (s *Server) route(w http.ResponseWriter, r *http.Request) string {
	seg := segments(r)
	if len(seg) == 4 && seg[1] == "oauth2" && seg[2] == "v2.0" && seg[3] == "token" {
		s.token(w, r, seg[0])
		return "token"
	}
	if len(seg) == 4 && seg[1] == "oauth2" && seg[2] == "v2.0" && seg[3] == "authorize" && r.Method == http.MethodGet {
		s.authorize(w, r, seg[0])
		return "authorize"
	}
	if len(seg) == 2 && seg[0] == "_download" {
		s.mu.Lock()
		b, ok := s.download[seg[1]]
		delete(s.download, seg[1])
		s.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return "download"
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		_, _ = w.Write(b)
		return "download"
	}
	if len(seg) < 2 || seg[0] != "v1.0" || r.Method != http.MethodGet {
		s.graphError(w, http.StatusBadRequest, "BadRequest", "Invalid version or method.")
		return "unknown"
	}
	seg = seg[1:]
	route := routeName(seg)
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	info, ok := s.TokenInfo(tok)
	if tok == "" || !ok {
		s.graphError(w, http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token is empty or invalid.")
		return route
	}
	s.mu.Lock()
	var th *throttle
	if len(s.throttle) > 0 {
		t := s.throttle[0]
		s.throttle = s.throttle[1:]
		th = &t
	}
	s.mu.Unlock()
	if th != nil {
		if th.after != "" {
			w.Header().Set("Retry-After", th.after)
		}
		code := "TooManyRequests"
		if th.status == http.StatusServiceUnavailable {
			code = "serviceNotAvailable"
		}
		s.graphError(w, th.status, code, "Too many requests.")
		return route
	}
	if route == "share" {
		s.share(w, r, seg, info)
		return route
	}
	if info.User != "" || info.Scope != s.GraphScope() || info.ClientID != s.ClientID {
		// Only an app token for Graph reads team and chat messages here
		// (resource-specific consent is an application permission).
		s.graphError(w, http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token validation failure. Invalid audience.")
		return route
	}
	if err := checkTop(r); err != "" {
		s.graphError(w, http.StatusBadRequest, "BadRequest", err)
		return route
	}
	switch seg[0] {
	case "teams":
		s.teamRoute(w, r, seg)
	case "chats":
		s.chatRoute(w, r, seg)
	default:
		s.graphError(w, http.StatusNotFound, "NotFound", "Resource not found for the segment '"+seg[0]+"'.")
	}
	return route
}

// routeName names a Graph path for the call log.
func routeName(seg []string) string {
	n := len(seg)
	switch {
	case seg[0] == "shares":
		return "share"
	case n >= 2 && seg[n-1] == "$value":
		return "hostedContent"
	case seg[n-1] == "members" || seg[n-1] == "allMembers":
		return "members"
	case seg[n-1] == "replies":
		return "replies"
	case seg[n-1] == "messages":
		return "messages"
	case n >= 2 && (seg[n-2] == "messages" || seg[n-2] == "replies"):
		return "message"
	case seg[0] == "teams" && n == 4 && seg[2] == "channels":
		return "channel"
	case seg[0] == "teams" && n == 2:
		return "team"
	case seg[0] == "chats" && n == 2:
		return "chat"
	}
	return "unknown"
}

// checkTop refuses a $top Graph refuses: "Maximum allowed $top value is
// 50" (https://learn.microsoft.com/graph/api/chatmessage-list-replies).
func checkTop(r *http.Request) string {
	v := r.URL.Query().Get("$top")
	if v == "" {
		return ""
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 50 {
		return "Invalid page size specified: '" + v + "'. Must be between 1 and 50 inclusive."
	}
	return ""
}

// tokenFail answers a token request with Entra's error body:
// {"error", "error_description" (AADSTS… text), "error_codes"}
// ("Error response",
// https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow#error-response).
type tokenFail func(status int, code, desc string, n int)

// token answers the token endpoint: the client is authenticated
// (client.go), then its grant is answered: client credentials here, an
// authorization code or a refresh token in oauth.go.
func (s *Server) token(w http.ResponseWriter, r *http.Request, tenant string) {
	fail := func(status int, code, desc string, n int) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]any{"error": code, "error_description": desc, "error_codes": []int{n}})
	}
	if r.Method != http.MethodPost {
		fail(http.StatusMethodNotAllowed, "invalid_request", "AADSTS900561: The endpoint only accepts POST requests.", 900561)
		return
	}
	if err := r.ParseForm(); err != nil {
		fail(http.StatusBadRequest, "invalid_request", "AADSTS900144: The request body must contain the parameter grant_type.", 900144)
		return
	}
	f := r.PostForm
	switch {
	case tenant != s.Tenant:
		fail(http.StatusBadRequest, "invalid_request", "AADSTS90002: Tenant not found.", 90002)
		return
	case f.Get("client_id") != s.ClientID:
		fail(http.StatusBadRequest, "unauthorized_client", "AADSTS700016: Application not found in the directory.", 700016)
		return
	}
	if !s.authenticateClient(f, s.URL+"/"+tenant+"/oauth2/v2.0/token", fail) {
		return
	}
	switch f.Get("grant_type") {
	case "client_credentials":
		s.clientCredentials(w, f, fail)
	case "authorization_code":
		s.authorizationCode(w, f, fail)
	case "refresh_token":
		s.refreshToken(w, f, fail)
	default:
		fail(http.StatusBadRequest, "unsupported_grant_type", "AADSTS70003: The app requested an unsupported grant type.", 70003)
	}
}

// clientCredentials answers the client-credentials grant
// (https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow).
func (s *Server) clientCredentials(w http.ResponseWriter, f url.Values, fail tokenFail) {
	if !strings.HasSuffix(f.Get("scope"), "/.default") || strings.Contains(f.Get("scope"), " ") {
		fail(http.StatusBadRequest, "invalid_scope", "AADSTS1002012: The provided value for scope is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier.", 1002012)
		return
	}
	tok := s.issue(Token{Scope: f.Get("scope"), ClientID: s.ClientID})
	writeJSON(w, map[string]any{"token_type": "Bearer", "expires_in": int(s.life / time.Second),
		"ext_expires_in": int(s.life / time.Second), "access_token": tok})
}
