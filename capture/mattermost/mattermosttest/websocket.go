package mattermosttest

import (
	"encoding/json"
	"net/http"
	"sync"

	"github.com/gorilla/websocket"
	"github.com/mattermost/mattermost/server/public/model"
)

// --- WebSocket ---

type wsConn struct {
	conn   *websocket.Conn
	userID string
	mu     sync.Mutex
	seq    int64
}

func (c *wsConn) send(v []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.conn.WriteMessage(websocket.TextMessage, v)
}

func (s *Server) websocket(w http.ResponseWriter, r *http.Request) {
	up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	conn, err := up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	c := &wsConn{conn: conn}
	defer conn.Close()
	// The client authenticates with its first message.
	var req model.WebSocketRequest
	if err := conn.ReadJSON(&req); err != nil || req.Action != string(model.WebsocketAuthenticationChallenge) {
		return
	}
	tok, _ := req.Data["token"].(string)
	s.mu.Lock()
	uid := s.tokens[tok]
	s.mu.Unlock()
	if uid == "" {
		b, _ := json.Marshal(model.NewWebSocketError(req.Seq, model.NewAppError("ServeWebSocket", "api.web_socket_router.not_authenticated.app_error", nil, "", 401)))
		c.send(b)
		return
	}
	c.userID = uid
	b, _ := json.Marshal(model.NewWebSocketResponse(model.StatusOk, req.Seq, nil))
	c.send(b)
	hello := model.NewWebSocketEvent(model.WebsocketEventHello, "", "", uid, nil, "")
	hello = hello.SetData(map[string]any{"server_version": "10.0.0"})
	hb, _ := hello.ToJSON()
	c.send(hb)
	s.wsMu.Lock()
	s.wsCon[c] = true
	s.wsMu.Unlock()
	defer func() {
		s.wsMu.Lock()
		delete(s.wsCon, c)
		s.wsMu.Unlock()
	}()
	for {
		if _, _, err := conn.ReadMessage(); err != nil {
			return
		}
	}
}

// WebSocketClients returns how many authenticated WebSocket clients are
// connected.
func (s *Server) WebSocketClients() int {
	s.wsMu.Lock()
	defer s.wsMu.Unlock()
	return len(s.wsCon)
}

// DropWebSockets closes every WebSocket connection (clients must
// reconnect).
func (s *Server) DropWebSockets() {
	s.wsMu.Lock()
	defer s.wsMu.Unlock()
	for c := range s.wsCon {
		c.conn.Close()
		delete(s.wsCon, c)
	}
}

func (s *Server) broadcast(ev *model.WebSocketEvent, to func(userID string) bool) {
	s.wsMu.Lock()
	defer s.wsMu.Unlock()
	for c := range s.wsCon {
		if !to(c.userID) {
			continue
		}
		c.seq++
		b, _ := ev.SetSequence(c.seq).ToJSON()
		c.send(b)
	}
}

// SendRaw sends a raw WebSocket frame to every client (for event JSON
// fixtures).
func (s *Server) SendRaw(frame []byte) {
	s.wsMu.Lock()
	defer s.wsMu.Unlock()
	for c := range s.wsCon {
		c.send(frame)
	}
}
