package records

// Fold writes s in the form searches compare (see fold): the derived
// search index stores and queries text in this form, so it finds what
// Find finds.
func Fold(s string) string { return fold(s) }

// PhoneNumbers returns the digits, without prefix, of every run of s that
// may be a phone number, as Find compares them.
func PhoneNumbers(s string) []string { return phoneNumbers(s) }

// PhoneQuery returns the digits of q without prefix when q is a phone
// number, or "".
func PhoneQuery(q string) string { return phoneQuery(q) }

// Matches reports whether s holds q as Find matches it: ignoring case,
// accents and width, and phone numbers however they are written.
func Matches(q, s string) bool { return newMatcher(q).match(s) }

// CheckRecordFolder reports whether key has the shape of record id's folder:
// under records/, deep enough for class, year and record, and ending in
// the id's short id. An index entry naming another folder was not written
// by the filing service.
func CheckRecordFolder(id, key string) error { return checkFolder(id, key) }
