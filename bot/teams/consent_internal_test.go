package teams

import (
	"encoding/base64"
	"testing"

	"github.com/recordbot/recordbot/capture/teams/entra"
)

// TestReadIDToken: an ID token is read whatever its algorithm, as
// Microsoft's documented answers show one unsigned (alg "none"); anything
// that is not a JWT is refused.
func TestReadIDToken(t *testing.T) {
	enc := base64.RawURLEncoding.EncodeToString
	unsigned := enc([]byte(`{"typ":"JWT","alg":"none"}`)) + "." +
		enc([]byte(`{"aud":"app-1","tid":"tenant-1","oid":"user-1","nonce":"n-1","name":"Bob"}`)) + "."
	c, err := readIDToken(unsigned)
	if err != nil || c != (idClaims{Audience: "app-1", Tenant: "tenant-1", Object: "user-1", Nonce: "n-1"}) {
		t.Errorf("unsigned ID token: %+v %v", c, err)
	}
	for _, bad := range []string{"", "not-a-jwt", "a.b", "a.!!!.c", enc([]byte("{}")) + "." + enc([]byte("[1,2]")) + ".x"} {
		if _, err := readIDToken(bad); err == nil {
			t.Errorf("%q was read as an ID token", bad)
		}
	}
}

// TestHolds: the scope of a token answer, as Entra lists it (with or
// without Graph's address, URL-encoded in the documented examples, or
// not at all, which means the scopes asked).
func TestHolds(t *testing.T) {
	const want = "https://graph.microsoft.com/Files.Read.All"
	for scope, ok := range map[string]bool{
		"openid profile offline_access https://graph.microsoft.com/Files.Read.All": true,
		"Files.Read.All User.Read":                           true,
		"https%3A%2F%2Fgraph.microsoft.com%2FFiles.Read.All": true,
		"https%3A%2F%2Fgraph.microsoft.com%2Ffiles.read.all": true,
		"":                                       true,
		"openid profile offline_access":          false,
		"https://graph.microsoft.com/Files.Read": false,
		"https://graph.microsoft.com/Files.Read.All.Evil":    false,
		"https%3A%2F%2Fgraph.microsoft.com%2FSites.Read.All": false,
	} {
		if got := holds(&entra.Token{Scope: scope}, want); got != ok {
			t.Errorf("holds(%q) = %v, want %v", scope, got, ok)
		}
	}
}
