package mattermosttest

import (
	"cmp"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/mattermost/mattermost/server/public/model"
)

func (s *Server) readablePost(w http.ResponseWriter, me *model.User, id string) *model.Post {
	p, ok := s.posts[id]
	if !ok || p.DeleteAt != 0 {
		writeErr(w, 404, "app.post.get.app_error", "Unable to get the post.")
		return nil
	}
	if !s.canRead(me, s.channels[p.ChannelId]) {
		writeErr(w, 403, "api.context.permissions.app_error", "You do not have the appropriate permissions.")
		return nil
	}
	return p
}

// forClient returns the post as the API sends it, with metadata.
func (s *Server) forClient(p *model.Post) *model.Post {
	c := p.Clone()
	if s.Config.OmitMetadata {
		c.Metadata = nil
		return c
	}
	md := &model.PostMetadata{}
	md.Reactions = slices.Clone(s.reactions[p.Id])
	for _, id := range p.FileIds {
		if fi, ok := s.files[id]; ok {
			md.Files = append(md.Files, fi)
		}
	}
	c.Metadata = md
	return c
}

func (s *Server) getPost(w http.ResponseWriter, r *http.Request, me *model.User) {
	if p := s.readablePost(w, me, r.PathValue("id")); p != nil {
		writeJSON(w, 200, s.forClient(p))
	}
}

// getThread answers GET /posts/{id}/thread as the server's SqlPostStore.Get
// does: the requested post first, then the thread's posts ordered by
// (create_at, id) in the asked direction, after fromCreateAt/fromPost,
// perPage of them, with has_next.
func (s *Server) getThread(w http.ResponseWriter, r *http.Request, me *model.User) {
	p := s.readablePost(w, me, r.PathValue("id"))
	if p == nil {
		return
	}
	q := r.URL.Query()
	perPage := 0
	if v := q.Get("perPage"); v != "" && !s.Config.NoThreadPaging {
		// api4/post.go getPostThread: more than web.PerPageMaximum (200)
		// is refused.
		n, err := strconv.Atoi(v)
		if err != nil || n > MaxPerPage || (s.Config.MaxPerPage > 0 && n > s.Config.MaxPerPage) {
			writeParamErr(w, "perPage")
			return
		}
		perPage = n
	}
	fromCreateAt, _ := strconv.ParseInt(q.Get("fromCreateAt"), 10, 64)
	fromPost, dir := q.Get("fromPost"), q.Get("direction")
	if s.Config.NoThreadPaging {
		perPage, fromCreateAt, fromPost, dir = 0, 0, "", ""
	}
	rootID := cmp.Or(p.RootId, p.Id)
	var thread []*model.Post
	for _, x := range s.posts {
		if (x.Id == rootID || x.RootId == rootID) && x.DeleteAt == 0 {
			thread = append(thread, x)
		}
	}
	asc := func(a, b *model.Post) int {
		return cmp.Or(cmp.Compare(a.CreateAt, b.CreateAt), strings.Compare(a.Id, b.Id))
	}
	switch dir {
	case "down":
		slices.SortFunc(thread, asc)
	case "up":
		slices.SortFunc(thread, func(a, b *model.Post) int { return -asc(a, b) })
	}
	if fromCreateAt != 0 {
		var keep []*model.Post
		for _, x := range thread {
			var ok bool
			if dir == "down" {
				ok = x.CreateAt > fromCreateAt || (fromPost != "" && x.CreateAt == fromCreateAt && x.Id > fromPost)
			} else {
				ok = x.CreateAt < fromCreateAt || (fromPost != "" && x.CreateAt == fromCreateAt && x.Id < fromPost)
			}
			if ok {
				keep = append(keep, x)
			}
		}
		thread = keep
	}
	hasNext := false
	if perPage != 0 && len(thread) > perPage {
		hasNext = true
		thread = thread[:perPage]
	}
	pl := model.NewPostList()
	pl.AddPost(s.forClient(p))
	pl.AddOrder(p.Id)
	for _, x := range thread {
		if x.Id == p.Id {
			continue
		}
		pl.AddPost(s.forClient(x))
		pl.AddOrder(x.Id)
	}
	if !s.Config.NoThreadPaging {
		pl.HasNext = &hasNext
	}
	writeJSON(w, 200, pl)
}

func (s *Server) getReactions(w http.ResponseWriter, r *http.Request, me *model.User) {
	if p := s.readablePost(w, me, r.PathValue("id")); p != nil {
		writeJSON(w, 200, append([]*model.Reaction{}, s.reactions[p.Id]...))
	}
}

func (s *Server) getPostFiles(w http.ResponseWriter, r *http.Request, me *model.User) {
	p := s.readablePost(w, me, r.PathValue("id"))
	if p == nil {
		return
	}
	out := []*model.FileInfo{}
	for _, id := range p.FileIds {
		if fi, ok := s.files[id]; ok {
			out = append(out, fi)
		}
	}
	writeJSON(w, 200, out)
}

func (s *Server) readableFile(w http.ResponseWriter, me *model.User, id string) *model.FileInfo {
	fi, ok := s.files[id]
	if !ok {
		writeErr(w, 404, "app.file_info.get.app_error", "Unable to get the file info.")
		return nil
	}
	if !s.canRead(me, s.channels[fi.ChannelId]) {
		writeErr(w, 403, "api.context.permissions.app_error", "You do not have the appropriate permissions.")
		return nil
	}
	return fi
}

func (s *Server) getFileInfo(w http.ResponseWriter, r *http.Request, me *model.User) {
	if fi := s.readableFile(w, me, r.PathValue("id")); fi != nil {
		writeJSON(w, 200, fi)
	}
}

func (s *Server) getFile(w http.ResponseWriter, r *http.Request, me *model.User) {
	fi := s.readableFile(w, me, r.PathValue("id"))
	if fi == nil {
		return
	}
	body := s.content[fi.Id]()
	s.mu.Unlock() // stream without holding the lock
	defer s.mu.Lock()
	w.Header().Set("Content-Type", fi.MimeType)
	w.Header().Set("Content-Length", strconv.FormatInt(fi.Size, 10))
	w.Header().Set("Content-Disposition", "attachment;filename=\""+fi.Name+"\"")
	w.WriteHeader(200)
	io.Copy(w, body)
}
