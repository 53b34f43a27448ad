package filing

import (
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Evidence is signed, not merely stored. Whoever holds the bot's S3 keys
// can create any object the bot could create: an index entry, an audit
// event, a whole record package copied under a new id. Object Lock keeps
// what recordbot wrote from being changed, but it cannot tell what
// recordbot wrote from what someone else wrote beside it. A signature by
// a key the S3 credentials do not give can.
//
// The key is Ed25519. Its private half is derived from the deployment's
// secret key (HKDF-SHA256 with a label of its own, so the sealing
// key of stored tokens and the signing key never coincide); its public half
// is printed by `bot records key` and can be held by records officers and
// auditors, who check signatures without being able to make one. An HMAC
// would have needed the secret itself to check, handing every checker the
// power to forge.

// Signature is a detached Ed25519 signature carried inside the JSON object
// it signs (in its "signature" field).
type Signature struct {
	// Key names the public key that checks it (KeyID).
	Key string `json:"key"`
	// Value is the signature, base64.
	Value string `json:"value"`
}

// The kinds of evidence signed. A signature covers its kind, so one made
// for an index entry cannot pass for an event.
const (
	KindEvent       = "event"
	KindIndex       = "index"
	KindReview      = "review"
	KindResidual    = "residual"
	KindCertificate = "certificate"
)

// Signer signs evidence with the deployment's private key.
type Signer struct {
	priv ed25519.PrivateKey
	id   string
}

// signingLabel separates the signing key from anything else derived from
// the same secret.
const signingLabel = "recordbot evidence signing key v1"

// DeriveSigner returns the signer whose key is derived from secret, the
// deployment's 32-byte secret key.
func DeriveSigner(secret []byte) (*Signer, error) {
	if len(secret) < 32 {
		return nil, errors.New("the signing key needs a secret of at least 32 bytes")
	}
	seed, err := hkdf.Key(sha256.New, secret, nil, signingLabel, ed25519.SeedSize)
	if err != nil {
		return nil, err
	}
	priv := ed25519.NewKeyFromSeed(seed)
	return &Signer{priv: priv, id: KeyID(priv.Public().(ed25519.PublicKey))}, nil
}

// KeyID names a public key: "ed25519:" and the first 16 hex digits of its
// SHA-256.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return "ed25519:" + hex.EncodeToString(sum[:8])
}

// KeyID names the signer's public key.
func (s *Signer) KeyID() string { return s.id }

// Public returns the signer's public key in the form ParsePublicKey reads.
func (s *Signer) Public() string { return FormatPublicKey(s.priv.Public().(ed25519.PublicKey)) }

// Sign signs v, of the given kind, and sets *sig. sig must be v's own
// signature field: it is cleared while v is encoded.
//
// v must be a pointer. It is first put in the form it will have when read
// back (its encoding decoded into it: invalid UTF-8 becomes U+FFFD, as
// encoding/json writes it), so that what a reader decodes is what was
// signed.
func (s *Signer) Sign(kind string, v any, sig **Signature) error {
	*sig = nil
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s to sign: %w", kind, err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("encode %s to sign: %w", kind, err)
	}
	msg, err := signedBytes(kind, v)
	if err != nil {
		return err
	}
	*sig = &Signature{Key: s.id, Value: base64.StdEncoding.EncodeToString(ed25519.Sign(s.priv, msg))}
	return nil
}

// signedBytes is what a signature covers: a label naming the kind, then
// v encoded as JSON (with its signature field cleared by the caller). Go's
// encoding of a struct is deterministic, and decoding what it wrote and
// encoding again gives the same bytes, so a reader checks the value it
// decoded.
func signedBytes(kind string, v any) ([]byte, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode %s to sign: %w", kind, err)
	}
	return append([]byte("recordbot signed "+kind+"\n"), data...), nil
}

// FormatPublicKey writes a public key as "recordbot-ed25519:" and its
// base64.
func FormatPublicKey(pub ed25519.PublicKey) string {
	return "recordbot-ed25519:" + base64.StdEncoding.EncodeToString(pub)
}

// ParsePublicKey reads a public key written by FormatPublicKey.
func ParsePublicKey(s string) (ed25519.PublicKey, error) {
	b64, ok := strings.CutPrefix(strings.TrimSpace(s), "recordbot-ed25519:")
	if !ok {
		return nil, fmt.Errorf("public key %q: must start with recordbot-ed25519: (print one with `bot records key`)", s)
	}
	b, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(b) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("public key %q: not a base64 Ed25519 public key", s)
	}
	return ed25519.PublicKey(b), nil
}

// Errors of Keyring.Check, matched with errors.Is.
var (
	// ErrUnsigned: the object carries no signature.
	ErrUnsigned = errors.New("not signed")
	// ErrUnknownKey: signed by a key this deployment does not trust.
	ErrUnknownKey = errors.New("signed by a key this deployment does not trust")
	// ErrBadSignature: the signature does not match the object: it was
	// changed after signing, or the signature was made up.
	ErrBadSignature = errors.New("signature does not match")
)

// Keyring holds the public keys whose signatures are trusted: the
// deployment's own, and those it had before a rotation.
type Keyring struct {
	keys map[string]ed25519.PublicKey
}

// NewKeyring returns a keyring trusting pubs.
func NewKeyring(pubs ...ed25519.PublicKey) *Keyring {
	k := &Keyring{keys: make(map[string]ed25519.PublicKey)}
	for _, p := range pubs {
		k.Add(p)
	}
	return k
}

// Add trusts pub too.
func (k *Keyring) Add(pub ed25519.PublicKey) { k.keys[KeyID(pub)] = pub }

// Len is how many keys are trusted.
func (k *Keyring) Len() int {
	if k == nil {
		return 0
	}
	return len(k.keys)
}

// Trusts reports whether the key named id is trusted.
func (k *Keyring) Trusts(id string) bool {
	if k == nil {
		return false
	}
	_, ok := k.keys[id]
	return ok
}

// Check checks the signature *sig of v, of the given kind: nil when a
// trusted key made it over exactly this value; otherwise an error
// matching ErrUnsigned, ErrUnknownKey or ErrBadSignature. sig must be v's
// own signature field: it is cleared while v is encoded, then restored.
func (k *Keyring) Check(kind string, v any, sig **Signature) error {
	got := *sig
	if got == nil {
		return ErrUnsigned
	}
	if k == nil {
		return fmt.Errorf("key %s: %w", got.Key, ErrUnknownKey)
	}
	pub, ok := k.keys[got.Key]
	if !ok {
		return fmt.Errorf("key %s: %w", got.Key, ErrUnknownKey)
	}
	raw, err := base64.StdEncoding.DecodeString(got.Value)
	if err != nil {
		return ErrBadSignature
	}
	*sig = nil
	msg, err := signedBytes(kind, v)
	*sig = got
	if err != nil {
		return err
	}
	if !ed25519.Verify(pub, msg, raw) {
		return ErrBadSignature
	}
	return nil
}

// KeyringOf returns a keyring trusting s's public key; nil for a nil s.
func KeyringOf(s *Signer) *Keyring {
	if s == nil {
		return nil
	}
	return NewKeyring(s.priv.Public().(ed25519.PublicKey))
}

// Sum returns the hex SHA-256 of data: what an event's Prev names of the
// event before it.
func Sum(data []byte) string {
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}
