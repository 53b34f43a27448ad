package filing_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/recordbot/recordbot/capture"
	"github.com/recordbot/recordbot/filing"
)

func TestSignatures(t *testing.T) {
	t.Parallel()
	signer, err := filing.DeriveSigner([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	other, _ := filing.DeriveSigner([]byte("another deployment's secret key!"))
	if signer.KeyID() == other.KeyID() {
		t.Fatal("two secrets gave one key")
	}
	again, _ := filing.DeriveSigner([]byte("0123456789abcdef0123456789abcdef"))
	if again.Public() != signer.Public() {
		t.Fatal("the key is not derived deterministically from the secret")
	}
	pub, err := filing.ParsePublicKey(signer.Public())
	if err != nil {
		t.Fatalf("ParsePublicKey(%q): %v", signer.Public(), err)
	}
	keys := filing.NewKeyring(pub)

	ev := filing.Event{ID: "e1", Type: "filed", RecordID: "r1", At: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC),
		By: capture.Person{ID: "U1", DisplayName: "Ann \xff"}, TagManifestSHA256: "abc", Prev: ""}
	if err := keys.Check(filing.KindEvent, &ev, &ev.Signature); !errors.Is(err, filing.ErrUnsigned) {
		t.Fatalf("Check(unsigned) = %v, want ErrUnsigned", err)
	}
	if err := signer.Sign(filing.KindEvent, &ev, &ev.Signature); err != nil {
		t.Fatal(err)
	}
	// What is checked is what was stored and read back.
	data, _ := filing.EventBytes(ev)
	var read filing.Event
	if err := json.Unmarshal(data, &read); err != nil {
		t.Fatal(err)
	}
	if err := keys.Check(filing.KindEvent, &read, &read.Signature); err != nil {
		t.Fatalf("Check(as stored) = %v, want nil", err)
	}
	if read.Signature == nil {
		t.Fatal("Check cleared the signature")
	}

	changed := read
	changed.TagManifestSHA256 = "def"
	if err := keys.Check(filing.KindEvent, &changed, &changed.Signature); !errors.Is(err, filing.ErrBadSignature) {
		t.Errorf("Check(changed) = %v, want ErrBadSignature", err)
	}
	// A signature made for one kind does not pass for another.
	if err := keys.Check(filing.KindIndex, &read, &read.Signature); !errors.Is(err, filing.ErrBadSignature) {
		t.Errorf("Check(as another kind) = %v, want ErrBadSignature", err)
	}
	forged := read
	if err := other.Sign(filing.KindEvent, &forged, &forged.Signature); err != nil {
		t.Fatal(err)
	}
	if err := keys.Check(filing.KindEvent, &forged, &forged.Signature); !errors.Is(err, filing.ErrUnknownKey) {
		t.Errorf("Check(another key) = %v, want ErrUnknownKey", err)
	}
	// Claiming the trusted key's id does not help a forger.
	forged.Signature.Key = signer.KeyID()
	if err := keys.Check(filing.KindEvent, &forged, &forged.Signature); !errors.Is(err, filing.ErrBadSignature) {
		t.Errorf("Check(another key, trusted id) = %v, want ErrBadSignature", err)
	}
	// Rotation: a keyring with both keys trusts both.
	opub, _ := filing.ParsePublicKey(other.Public())
	keys.Add(opub)
	if err := keys.Check(filing.KindEvent, &read, &read.Signature); err != nil {
		t.Errorf("Check(old key after rotation) = %v", err)
	}
	for _, bad := range []string{"", "ed25519:AAAA", "recordbot-ed25519:!!", "recordbot-ed25519:AAAA"} {
		if _, err := filing.ParsePublicKey(bad); err == nil {
			t.Errorf("ParsePublicKey(%q) = nil error", bad)
		}
	}
	if _, err := filing.DeriveSigner([]byte("short")); err == nil {
		t.Error("DeriveSigner(short secret) = nil error")
	}
}
