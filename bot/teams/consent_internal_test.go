package teams

import (
	"encoding/base64"
	"testing"
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
