package s3_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/recordbot/recordbot/filing"
	"github.com/recordbot/recordbot/filing/s3"
	"github.com/recordbot/recordbot/internal/miniotest"
)

func TestProveLockOnALockedBucket(t *testing.T) {
	t.Parallel()
	st := miniotest.NewStore(t)
	if err := st.ProveLock(context.Background()); err != nil {
		t.Fatalf("ProveLock on a locked MinIO bucket = %v, want nil", err)
	}
}

func TestProveLockRefusesAnUnlockedBucket(t *testing.T) {
	t.Parallel()
	st := miniotest.NewStoreWith(t, miniotest.Options{NoLock: true})
	err := st.ProveLock(context.Background())
	if !errors.Is(err, filing.ErrNotLocked) || !strings.Contains(err.Error(), "--with-lock") {
		t.Fatalf("ProveLock on an unlocked bucket = %v, want ErrNotLocked with advice", err)
	}
}

// A store that says it has Object Lock but does not enforce it is caught:
// a proxy in front of MinIO plays such a store by dropping the create-only
// condition, or by pretending to delete a retained version.
func TestProveLockCatchesAStoreThatDoesNotEnforce(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		fake func(w http.ResponseWriter, r *http.Request) bool // true: answered
		want string
	}{
		{name: "ignores If-None-Match", fake: acceptSecondCreate(), want: "create-only"},
		{name: "deletes retained versions", fake: func(w http.ResponseWriter, r *http.Request) bool {
			if r.Method == http.MethodDelete && r.URL.Query().Get("versionId") != "" {
				w.WriteHeader(http.StatusNoContent)
				return true
			}
			return false
		}, want: "not enforced"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := miniotest.Config(t)
			c.Bucket = miniotest.NewBucket(t, miniotest.Options{})
			target, _ := url.Parse("http://" + c.Endpoint)
			rp := httputil.NewSingleHostReverseProxy(target)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.fake != nil && tt.fake(w, r) {
					return
				}
				rp.ServeHTTP(w, r) // Host stays the proxy's, as signed
			}))
			defer srv.Close()
			c.Endpoint = strings.TrimPrefix(srv.URL, "http://")
			st, err := s3.Open(context.Background(), c)
			if err != nil {
				t.Fatal(err)
			}
			err = st.ProveLock(context.Background())
			if !errors.Is(err, filing.ErrNotLocked) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ProveLock through a store that %s = %v, want ErrNotLocked saying %q", tt.name, err, tt.want)
			}
		})
	}
}

// acceptSecondCreate plays a store that answers a create-only PUT of an
// existing canary with success, as if it had written it.
func acceptSecondCreate() func(w http.ResponseWriter, r *http.Request) bool {
	var mu sync.Mutex
	seen := map[string]bool{}
	return func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodPut || r.Header.Get("If-None-Match") != "*" || !strings.Contains(r.URL.Path, filing.CanaryPrefix) {
			return false
		}
		mu.Lock()
		defer mu.Unlock()
		if !seen[r.URL.Path] {
			seen[r.URL.Path] = true
			return false
		}
		w.Header().Set("ETag", `"0123456789abcdef0123456789abcdef"`)
		w.WriteHeader(http.StatusOK)
		return true
	}
}

func TestS3ConfigCredentials(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		c    s3.Config
		want string // "" for valid
	}{
		{"keys", s3.Config{Endpoint: "e", Bucket: "b", AccessKey: "a", SecretKey: "s"}, ""},
		{"no keys", s3.Config{Endpoint: "e", Bucket: "b"}, "IAM role"},
		{"iam asked for", s3.Config{Endpoint: "e", Bucket: "b", UseIAM: true}, ""},
		{"one key", s3.Config{Endpoint: "e", Bucket: "b", AccessKey: "a"}, "both"},
		{"iam and keys", s3.Config{Endpoint: "e", Bucket: "b", AccessKey: "a", SecretKey: "s", UseIAM: true}, "choose one"},
		{"compliance", s3.Config{Endpoint: "e", Bucket: "b", AccessKey: "a", SecretKey: "s", LockMode: "compliance"}, ""},
		{"bad lock mode", s3.Config{Endpoint: "e", Bucket: "b", AccessKey: "a", SecretKey: "s", LockMode: "WEAK"}, "GOVERNANCE or COMPLIANCE"},
	} {
		err := tt.c.Validate()
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: Validate() = %v, want nil", tt.name, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: Validate() = %v, want an error saying %q", tt.name, err, tt.want)
		}
	}
}

// A plain-HTTP MinIO reached over HTTPS gets advice, not a bare TLS error.
func TestOpenExplainsHTTPSMismatch(t *testing.T) {
	t.Parallel()
	c := miniotest.Config(t)
	c.Bucket = miniotest.NewBucket(t, miniotest.Options{})
	c.Insecure = false
	_, err := s3.Open(context.Background(), c)
	if err == nil || !strings.Contains(err.Error(), "turn on plain HTTP (insecure)") {
		t.Fatalf("Open over HTTPS to a plain-HTTP server = %v, want advice to turn on plain HTTP", err)
	}
	re, ok := errors.AsType[*s3.ReachError](err)
	if !ok || re.Hint == nil || !slices.Equal(re.Hint.Fields, []string{"Insecure", "Endpoint"}) {
		t.Fatalf("Open's error = %#v, want a ReachError whose hint names the Insecure and Endpoint fields", err)
	}
}
