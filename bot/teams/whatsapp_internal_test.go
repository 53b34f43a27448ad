package teams

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"
)

// A file sent to the bot is downloaded only over https from SharePoint
// Online (DefaultFileHosts): no other host, port, scheme or user in the
// URL.
func TestFileURLDefaultHosts(t *testing.T) {
	a := &App{}
	for u, ok := range map[string]bool{
		"https://contoso-my.sharepoint.com/personal/alice_contoso_com/_layouts/15/download.aspx?UniqueId=1&tempauth=x": true,
		"https://contoso.sharepoint.com/sites/x/_layouts/15/download.aspx?UniqueId=1":                                  true,
		"https://contoso.SharePoint.com:443/x":                                                                         true,
		"http://contoso-my.sharepoint.com/x":                                                                           false,
		"https://contoso.sharepoint.com:8443/x":                                                                        false,
		"https://alice:pw@contoso.sharepoint.com/x":                                                                    false,
		"https://sharepoint.com/x":                                                                                     false,
		"https://evilsharepoint.com/x":                                                                                 false,
		"https://contoso.sharepoint.com.evil.net/x":                                                                    false,
		"https://169.254.169.254/latest/meta-data/":                                                                    false,
		"https://127.0.0.1/x":                                                                                          false,
		"file:///etc/passwd":                                                                                           false,
		"":                                                                                                             false,
	} {
		if err := a.fileURL(u); (err == nil) != ok {
			t.Errorf("fileURL(%q) = %v, want allowed %v", u, err, ok)
		}
	}
}

// A download that the file host redirects to another host is refused
// before the other host is asked.
func TestDownloadRedirectElsewhereRefused(t *testing.T) {
	var elsewhere atomic.Int32
	other := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { elsewhere.Add(1) }))
	defer other.Close()
	host := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/file", http.StatusFound)
	}))
	defer host.Close()
	u, _ := url.Parse(host.URL)
	a := &App{o: Options{FileHosts: []string{u.Host}, FileClient: host.Client()}}
	rc, err := a.download(context.Background(), host.URL+"/download")
	if err == nil {
		rc.Close()
	}
	if !errors.Is(err, ErrFileHost) || elsewhere.Load() != 0 {
		t.Errorf("download redirected elsewhere = %v, %d requests there; want ErrFileHost and none", err, elsewhere.Load())
	}
}
