// Package bot holds what the Slack and Mattermost front ends share: the
// filing conversation (the form's suggested title, limits and marking
// default, and form values to a filing.Request, in form.go; what the
// person is told and when, in each platform's markup, in outcome.go),
// sealed installation secrets, routing of filing outcomes back to the
// platform a request came from, and the keeping of WhatsApp exports
// people send to the bot until they are filed (uploads.go). The front ends themselves are bot/slack
// and bot/mattermost: each decodes its platform's payloads, shows the
// form, and says what Voice gives it.
package bot

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// Vault seals secrets (bot tokens, command tokens) with AES-256-GCM before
// they are stored, so that read access to the bucket does not give access
// to the chat workspaces.
type Vault struct {
	aead cipher.AEAD
}

// Errors about the vault's key. They name no setting: the program that
// configures the key says where it is set.
var (
	// ErrNoKey: no secret key is configured.
	ErrNoKey = errors.New("no secret key is configured (generate one with `openssl rand -base64 32`)")
	// ErrBadKey: the secret key is not 32 bytes in base64 or hex.
	ErrBadKey = errors.New("the secret key must be 32 bytes in base64 or hex (generate one with `openssl rand -base64 32`)")
	// ErrWrongKey: a sealed value does not open with this key: it was
	// sealed with another key, or changed.
	ErrWrongKey = errors.New("wrong secret key or tampered value")
)

// NewVault returns a vault for a 32-byte key written in base64 (standard or
// URL alphabet) or hex.
func NewVault(key string) (*Vault, error) {
	raw, err := ParseKey(key)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(raw)
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	return &Vault{aead: aead}, nil
}

// ParseKey reads a 32-byte secret key written in base64 (standard or URL
// alphabet) or hex: the deployment's secret key. It errs with ErrNoKey or
// ErrBadKey.
func ParseKey(key string) ([]byte, error) {
	key = strings.TrimSpace(key)
	if key == "" {
		return nil, ErrNoKey
	}
	if b, err := hex.DecodeString(key); err == nil && len(b) == 32 {
		return b, nil
	} else if b, err := base64.StdEncoding.DecodeString(key); err == nil && len(b) == 32 {
		return b, nil
	} else if b, err := base64.URLEncoding.DecodeString(key); err == nil && len(b) == 32 {
		return b, nil
	}
	return nil, ErrBadKey
}

// Seal encrypts secret, bound to label (such as "slack:T123:bot"), so a
// sealed value cannot be moved to another installation unnoticed.
func (v *Vault) Seal(secret, label string) string {
	nonce := make([]byte, v.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	out := v.aead.Seal(nonce, nonce, []byte(secret), []byte(label))
	return "v1:" + base64.StdEncoding.EncodeToString(out)
}

// Open decrypts a value made by Seal with the same label.
func (v *Vault) Open(sealed, label string) (string, error) {
	rest, ok := strings.CutPrefix(sealed, "v1:")
	if !ok {
		return "", errors.New("open sealed secret: unknown format")
	}
	b, err := base64.StdEncoding.DecodeString(rest)
	if err != nil || len(b) < v.aead.NonceSize() {
		return "", errors.New("open sealed secret: malformed")
	}
	n := v.aead.NonceSize()
	pt, err := v.aead.Open(nil, b[:n], b[n:], []byte(label))
	if err != nil {
		return "", fmt.Errorf("open sealed secret: %w", ErrWrongKey)
	}
	return string(pt), nil
}
