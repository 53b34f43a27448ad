package slacktest

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"sync"

	"github.com/gorilla/websocket"
)

// socket is the Socket Mode connection of the bot under test.
type socket struct {
	conn    *websocket.Conn
	writeMu sync.Mutex
	mu      sync.Mutex
	acks    map[string]chan json.RawMessage
	done    chan struct{}
	nextID  int
}

var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

// serveSocket accepts the bot's Socket Mode websocket (the URL that
// apps.connections.open gave), says hello as Slack does, and routes the
// bot's acknowledgements to the envelopes sent with Send.
func (s *Server) serveSocket(w http.ResponseWriter, r *http.Request) {
	conn, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	sk := &socket{conn: conn, acks: make(map[string]chan json.RawMessage), done: make(chan struct{})}
	s.mu.Lock()
	s.socket = sk
	s.mu.Unlock()
	defer close(sk.done)
	defer conn.Close()
	hello := map[string]any{"type": "hello", "num_connections": 1,
		"connection_info": map[string]any{"app_id": "A1"},
		"debug_info":      map[string]any{"host": "slacktest", "approximate_connection_time": 3600}}
	if err := sk.write(hello); err != nil {
		return
	}
	for {
		_, data, err := conn.ReadMessage()
		if err != nil {
			return
		}
		var ack struct {
			EnvelopeID string          `json:"envelope_id"`
			Payload    json.RawMessage `json:"payload"`
		}
		if json.Unmarshal(data, &ack) != nil || ack.EnvelopeID == "" {
			continue
		}
		sk.mu.Lock()
		ch := sk.acks[ack.EnvelopeID]
		delete(sk.acks, ack.EnvelopeID)
		sk.mu.Unlock()
		if ch != nil {
			ch <- ack.Payload
		}
	}
}

func (sk *socket) write(v any) error {
	sk.writeMu.Lock()
	defer sk.writeMu.Unlock()
	return sk.conn.WriteJSON(v)
}

// Connected reports whether a Socket Mode client is connected.
func (s *Server) Connected() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.socket != nil
}

// Send sends one Socket Mode envelope of the given type ("interactive",
// "slash_commands", "events_api") with payload to the connected bot and
// returns the payload of its acknowledgement (null when it acked without
// one).
func (s *Server) Send(ctx context.Context, typ string, payload any) (json.RawMessage, error) {
	s.mu.Lock()
	sk := s.socket
	s.mu.Unlock()
	if sk == nil {
		return nil, errors.New("slacktest: no Socket Mode client connected")
	}
	sk.mu.Lock()
	sk.nextID++
	id := "env-" + strconv.Itoa(sk.nextID)
	ch := make(chan json.RawMessage, 1)
	sk.acks[id] = ch
	sk.mu.Unlock()
	raw, err := json.Marshal(payload)
	if err != nil {
		return nil, err
	}
	env := map[string]any{"envelope_id": id, "type": typ, "payload": json.RawMessage(raw),
		"accepts_response_payload": typ != "events_api", "retry_attempt": 0, "retry_reason": ""}
	if err := sk.write(env); err != nil {
		return nil, err
	}
	select {
	case p := <-ch:
		return p, nil
	case <-sk.done:
		return nil, errors.New("slacktest: Socket Mode client went away")
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
