package index

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	// pgx is the maintained PostgreSQL driver for Go (the older lib/pq
	// is in maintenance mode); its database/sql adapter lets both engines
	// share one shape of code.
	_ "github.com/jackc/pgx/v5/stdlib"
)

// PostgreSQL keeps the words as tsvectors built from recordbot's own words
// (cast from text, so PostgreSQL's parser and dictionaries, which would
// split and stem otherwise than SQLite, are not used): the two engines
// then find the same records. Case, accents and width are folded before
// the words reach either engine, which is what unaccent would do here.
const postgresSchema = `
CREATE TABLE IF NOT EXISTS recordbot_index_meta (k text PRIMARY KEY, v text NOT NULL);
CREATE TABLE IF NOT EXISTS recordbot_index_docs (
	id text PRIMARY KEY,
	key text NOT NULL,
	filed_at bigint NOT NULL,
	platform text NOT NULL,
	classes text NOT NULL,
	state text NOT NULL DEFAULT '',
	entry bytea NOT NULL,
	text text NOT NULL,
	partial boolean NOT NULL,
	notext boolean NOT NULL,
	named tsvector NOT NULL,
	people tsvector NOT NULL,
	allw tsvector NOT NULL
);
CREATE INDEX IF NOT EXISTS recordbot_index_docs_allw ON recordbot_index_docs USING gin (allw);
CREATE INDEX IF NOT EXISTS recordbot_index_docs_people ON recordbot_index_docs USING gin (people);
CREATE INDEX IF NOT EXISTS recordbot_index_docs_filed ON recordbot_index_docs (filed_at);
CREATE INDEX IF NOT EXISTS recordbot_index_docs_notext ON recordbot_index_docs (id) WHERE notext;
`

// maxVector is the most bytes of words a record keeps in PostgreSQL,
// whose tsvector must stay under 1 MB
// (https://www.postgresql.org/docs/current/textsearch-limitations.html).
const maxVector = 900_000

// postgres is PostgreSQL's dialect: the words in tsvector columns of the
// records' rows.
var postgres = &dialect{
	docs: "recordbot_index_docs", meta: "recordbot_index_meta",
	numbered:   true,
	noText:     "notext",
	reset:      `DELETE FROM recordbot_index_docs; DELETE FROM recordbot_index_meta`,
	instr:      "strpos",
	putAll:     postgresPutAll,
	dropWords:  postgresDropWords,
	candidates: postgresCandidates,
}

func openPostgres(ctx context.Context, dsn string) (backend, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("index database %s: %w", redact(dsn), err)
	}
	db.SetMaxOpenConns(8)
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := db.ExecContext(ctx, postgresSchema); err != nil {
		db.Close()
		return nil, fmt.Errorf("index database %s: %w", redact(dsn), err)
	}
	return &sqlDB{db: db, d: postgres}, nil
}

// vector writes space-separated words as a tsvector literal: each word
// once, quoted, without positions (phrases are checked in Go).
func vector(words ...string) string {
	var all []string
	for _, ws := range words {
		all = append(all, strings.Fields(ws)...)
	}
	slices.Sort(all)
	all = slices.Compact(all)
	var b strings.Builder
	for _, w := range all {
		if b.Len()+len(w)+3 > maxVector {
			break
		}
		b.WriteString(quoteLexeme(w))
		b.WriteByte(' ')
	}
	return b.String()
}

// quoteLexeme quotes a word for a tsvector or tsquery literal.
func quoteLexeme(w string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `''`).Replace(w) + "'"
}

// postgresPutAll writes many rows in few statements, as a catch-up's
// batch does: one INSERT a row costs a round trip each.
func postgresPutAll(t sqlTx, rows []row) error {
	for _, rows := range statements(rows, maxParams/pgCols, maxStatement) {
		var b strings.Builder
		args := make([]any, 0, len(rows)*pgCols)
		b.WriteString(`INSERT INTO recordbot_index_docs (id, key, filed_at, platform, classes, entry, text, partial, notext, named, people, allw) VALUES `)
		for i, r := range rows {
			if i > 0 {
				b.WriteString(", ")
			}
			k := len(args)
			fmt.Fprintf(&b, "($%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d::tsvector, $%d::tsvector, $%d::tsvector)",
				k+1, k+2, k+3, k+4, k+5, k+6, k+7, k+8, k+9, k+10, k+11, k+12)
			args = append(args, r.ID, r.Key, r.FiledAt.UnixMilli(), r.Platform, r.Classes, r.Entry, r.Text, r.Partial, r.NoText,
				vector(r.Meta), vector(r.People), vector(r.Meta, r.People, r.Body))
		}
		b.WriteString(` ON CONFLICT (id) DO UPDATE SET key = excluded.key, filed_at = excluded.filed_at, platform = excluded.platform, classes = excluded.classes,
			entry = excluded.entry, text = excluded.text, partial = excluded.partial, notext = excluded.notext,
			named = excluded.named, people = excluded.people, allw = excluded.allw`)
		if _, err := t.tx.ExecContext(t.ctx, b.String(), args...); err != nil {
			return err
		}
	}
	return nil
}

const (
	// pgCols is how many arguments a row of postgresPutAll takes.
	pgCols = 12
	// maxParams is the most arguments a statement takes: PostgreSQL's
	// wire protocol counts them in 16 bits
	// (https://www.postgresql.org/docs/current/protocol-message-formats.html, Bind).
	maxParams = 65535
	// maxStatement is about the most bytes of arguments one statement
	// carries: the server refuses a message of 1 GB or more
	// (PQ_LARGE_MESSAGE_LIMIT in PostgreSQL's src/include/libpq/libpq.h),
	// which a catch-up's 500 records with transcripts of 4 MiB each would
	// pass, and the statement is held in memory beside the rows.
	maxStatement = 64 << 20
)

// statements cuts rows into runs of at most n rows and, but for a run of
// one row, at most max bytes (as rowBytes counts them).
func statements(rows []row, n, max int) [][]row {
	var out [][]row
	start, size := 0, 0
	for i, r := range rows {
		b := rowBytes(r)
		if i > start && (i-start == n || size+b > max) {
			out = append(out, rows[start:i])
			start, size = i, 0
		}
		size += b
	}
	if start < len(rows) {
		out = append(out, rows[start:])
	}
	return out
}

// rowBytes is about how many bytes of arguments a row takes: its text,
// entry and fields, and its words twice (in named or people, and allw).
func rowBytes(r row) int {
	return len(r.ID) + len(r.Key) + len(r.Platform) + len(r.Classes) + len(r.Entry) + len(r.Text) +
		2*(len(r.Meta)+len(r.People)) + len(r.Body) + 64
}

func postgresDropWords(t sqlTx, id string) error {
	_, err := t.tx.ExecContext(t.ctx, `UPDATE recordbot_index_docs SET text = '', allw = named || people WHERE id = $1`, id)
	return err
}

// tsWords writes words as a tsquery literal: each the start of a word,
// all required.
func tsWords(words []string) string {
	var parts []string
	for _, w := range words {
		parts = append(parts, quoteLexeme(w)+":*")
	}
	return strings.Join(parts, " & ")
}

func postgresCandidates(d *dialect, sel selection) (string, []any) {
	a := &args{d: d}
	arg := a.add
	var match string
	switch {
	case sel.phone != "":
		match = quoteLexeme(sel.phone)
	case len(sel.words) > 0:
		match = tsWords(sel.words)
	}
	q := `SELECT id, key, filed_at, platform, classes, state, entry, partial, notext`
	if match != "" {
		q += `, (named || people) @@ ` + arg(match) + `::tsquery AS ranked`
	} else {
		q += `, false AS ranked`
	}
	// The matching records are found first (the full-text index), then
	// sorted: a planner left to itself may walk the records in filing
	// order for the LIMIT and test each.
	q += ` FROM recordbot_index_docs WHERE true`
	if match != "" {
		q += ` AND allw @@ ` + arg(match) + `::tsquery`
	}
	if len(sel.people) > 0 {
		q += ` AND people @@ ` + arg(tsWords(sel.people)) + `::tsquery`
	}
	q += d.filters(sel, "", a)
	if match != "" {
		q = `WITH m AS MATERIALIZED (` + q + `) SELECT * FROM m`
	}
	q += ` ORDER BY ranked DESC, filed_at DESC, id DESC LIMIT ` + arg(sel.limit)
	return q, a.list
}
