package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/recordbot/recordbot/bot"
	"github.com/recordbot/recordbot/filing"
)

// signingRelease is the day the first recordbot that signs every record
// was released: a deployment that took it up later sets
// RECORDBOT_SIGNED_SINCE to the day it did.
var signingRelease = time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)

// errNoSigner says a command that writes evidence has no key to sign it.
var errNoSigner = errors.New("RECORDBOT_SECRET_KEY is not set: recordbot signs what decides a record's fate " +
	"(filings, holds, reviews, disposals, fixity checks) with a key derived from it; set it as the bot has it")

// signer returns the deployment's signing key, derived from
// RECORDBOT_SECRET_KEY; nil (and no error) when no secret key is set.
func (m *Main) signer() (*filing.Signer, error) {
	if m.Config.SecretKey == "" {
		return nil, nil
	}
	raw, err := bot.ParseKey(m.Config.SecretKey)
	if err != nil {
		return nil, fmt.Errorf("RECORDBOT_SECRET_KEY: %w", err)
	}
	return filing.DeriveSigner(raw)
}

// mustSigner is signer for commands that write evidence: no secret key is
// a configuration error.
func (m *Main) mustSigner() (*filing.Signer, error) {
	s, err := m.signer()
	if err != nil {
		return nil, usageError(err)
	}
	if s == nil {
		return nil, usageError(errNoSigner)
	}
	return s, nil
}

// keyring returns the public keys whose signatures are trusted: the one
// derived from RECORDBOT_SECRET_KEY, if set, and RECORDBOT_TRUSTED_KEYS.
// A keyring with no key is a configuration error: nothing could be told
// from a forgery.
func (m *Main) keyring() (*filing.Signer, *filing.Keyring, error) {
	s, err := m.signer()
	if err != nil {
		return nil, nil, usageError(err)
	}
	keys := filing.KeyringOf(s)
	if keys == nil {
		keys = filing.NewKeyring()
	}
	for _, k := range m.Config.TrustedKeys {
		pub, err := filing.ParsePublicKey(k)
		if err != nil {
			return nil, nil, usageError(fmt.Errorf("RECORDBOT_TRUSTED_KEYS: %w", err))
		}
		keys.Add(pub)
	}
	if keys.Len() == 0 {
		return nil, nil, usageError(errors.New("no key to check signatures with: set RECORDBOT_SECRET_KEY as the bot has it, " +
			"or RECORDBOT_TRUSTED_KEYS to the deployment's public key (`bot records key` prints it where the secret is set)"))
	}
	return s, keys, nil
}

// trusted is keyring for commands that only show things: nil, and no
// error, when no key is configured (nothing is then checked).
func (m *Main) trusted() (*filing.Keyring, error) {
	if m.Config.SecretKey == "" && len(m.Config.TrustedKeys) == 0 {
		return nil, nil
	}
	_, keys, err := m.keyring()
	return keys, err
}
