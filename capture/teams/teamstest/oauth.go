package teamstest

import (
	"net/http"
	"net/url"
)

// authorizationCode answers the authorization code grant.
func (s *Server) authorizationCode(w http.ResponseWriter, f url.Values, fail tokenFail) {
	fail(http.StatusBadRequest, "unsupported_grant_type", "AADSTS70003: The app requested an unsupported grant type.", 70003)
}

// refreshToken answers the refresh token grant.
func (s *Server) refreshToken(w http.ResponseWriter, f url.Values, fail tokenFail) {
	fail(http.StatusBadRequest, "unsupported_grant_type", "AADSTS70003: The app requested an unsupported grant type.", 70003)
}
