package teamstest

import (
	"net/http"
	"net/url"
)

// authenticateClient checks the app's proof of identity in a token
// request: its client secret. It answers the request and returns false
// when the proof is refused.
func (s *Server) authenticateClient(f url.Values, tokenURL string, fail tokenFail) bool {
	if f.Get("client_secret") != s.ClientSecret {
		fail(http.StatusUnauthorized, "invalid_client", "AADSTS7000215: Invalid client secret provided.", 7000215)
		return false
	}
	return true
}
