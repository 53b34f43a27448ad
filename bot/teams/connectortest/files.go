package connectortest

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path"
	"strings"
	"sync"
	"testing"
	"time"
)

// Files is the sender's OneDrive as a bot sees a file sent to it in a
// personal chat: Teams uploads the file there and hands the bot a message
// whose attachment ("application/vnd.microsoft.teams.file.download.info")
// has the file's name and a pre-authenticated download URL
// ("Receive files in personal chat",
// https://learn.microsoft.com/en-us/microsoftteams/platform/bots/how-to/bots-filesv4).
// The double serves that URL over TLS on 127.0.0.1: the URL alone
// authenticates (its tempauth), and a request carrying an Authorization
// header is refused and counted (Tokened), for no token of the bot's may
// go there.
type Files struct {
	*httptest.Server

	mu      sync.Mutex
	files   map[string]sentFile // by unique id
	hits    int
	tokened int
}

type sentFile struct {
	name, tempauth string
	data           []byte
	path           string // served from disk when set
}

// NewFiles starts a file host, closed when the test ends.
func NewFiles(t testing.TB) *Files {
	t.Helper()
	f := &Files{files: map[string]sentFile{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /personal/_layouts/15/download.aspx", f.download)
	f.Server = httptest.NewTLSServer(mux)
	t.Cleanup(f.Close)
	return f
}

// Files is the file host of the connector's Teams, started on first use.
func (s *Server) Files() *Files {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.files == nil {
		s.files = NewFiles(s.t)
	}
	return s.files
}

// Host is the file host's host:port, as an allow-list names it.
func (f *Files) Host() string {
	u, _ := url.Parse(f.URL)
	return u.Host
}

// Put uploads a file the person sends the bot and returns its
// attachment, as Teams puts it in the message activity.
func (f *Files) Put(name string, data []byte) map[string]any {
	return f.put(sentFile{name: name, data: data})
}

// PutFile is Put of the file at path, served from disk (a large file
// that the test does not hold in memory).
func (f *Files) PutFile(name, path string) map[string]any {
	return f.put(sentFile{name: name, path: path})
}

func (f *Files) put(file sentFile) map[string]any {
	name := file.name
	id, auth := randomID(), randomID()
	file.tempauth = auth
	f.mu.Lock()
	f.files[id] = file
	f.mu.Unlock()
	dl := f.URL + "/personal/_layouts/15/download.aspx?UniqueId=" + id + "&tempauth=" + auth
	return FileAttachment(name, dl, id)
}

// FileAttachment is a file's attachment as Teams sends it to the bot, for
// downloadURL (any address: a test of what the bot refuses).
func FileAttachment(name, downloadURL, uniqueID string) map[string]any {
	return map[string]any{
		"contentType": "application/vnd.microsoft.teams.file.download.info",
		"contentUrl":  "https://contoso.sharepoint.com/personal/documents/" + url.PathEscape(name),
		"name":        name,
		"content": map[string]any{
			"downloadUrl": downloadURL, "uniqueId": uniqueID,
			"fileType": strings.TrimPrefix(path.Ext(name), "."),
		},
	}
}

func (f *Files) download(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.hits++
	tokened := r.Header.Get("Authorization") != ""
	if tokened {
		f.tokened++
	}
	file, ok := f.files[r.URL.Query().Get("UniqueId")]
	f.mu.Unlock()
	switch {
	case tokened:
		http.Error(w, "a pre-authenticated URL takes no token", http.StatusBadRequest)
	case !ok || r.URL.Query().Get("tempauth") != file.tempauth:
		http.Error(w, "Access denied", http.StatusUnauthorized)
	case file.path != "":
		fh, err := os.Open(file.path)
		if err != nil {
			http.Error(w, "Not found", http.StatusNotFound)
			return
		}
		defer fh.Close()
		w.Header().Set("Content-Type", "application/octet-stream")
		http.ServeContent(w, r, "", time.Time{}, fh)
	default:
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(file.data)
	}
}

// Hits is how many downloads were asked for.
func (f *Files) Hits() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hits
}

// Tokened is how many downloads came with an Authorization header.
func (f *Files) Tokened() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.tokened
}
