package index

import (
	"context"
	"database/sql"
	"errors"
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

type postgresDB struct{ db *sql.DB }

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
	return &postgresDB{db: db}, nil
}

func (p *postgresDB) close() error { return p.db.Close() }

func (p *postgresDB) meta(ctx context.Context, k string) (string, error) {
	var v string
	err := p.db.QueryRowContext(ctx, `SELECT v FROM recordbot_index_meta WHERE k = $1`, k).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return v, err
}

func (p *postgresDB) has(ctx context.Context, id string) (bool, error) {
	var n int
	err := p.db.QueryRowContext(ctx, `SELECT count(*) FROM recordbot_index_docs WHERE id = $1`, id).Scan(&n)
	return n > 0, err
}

func (p *postgresDB) count(ctx context.Context) (int, error) {
	var n int
	err := p.db.QueryRowContext(ctx, `SELECT count(*) FROM recordbot_index_docs`).Scan(&n)
	return n, err
}

func (p *postgresDB) text(ctx context.Context, id string) (string, error) {
	var t string
	err := p.db.QueryRowContext(ctx, `SELECT text FROM recordbot_index_docs WHERE id = $1`, id).Scan(&t)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return t, err
}

func (p *postgresDB) reset(ctx context.Context) error {
	_, err := p.db.ExecContext(ctx, `DELETE FROM recordbot_index_docs; DELETE FROM recordbot_index_meta`)
	return err
}

func (p *postgresDB) write(ctx context.Context, fn func(w writer) error) error {
	tx, err := p.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(postgresTx{ctx, tx}); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

type postgresTx struct {
	ctx context.Context
	tx  *sql.Tx
}

func (t postgresTx) setMeta(k, v string) error {
	_, err := t.tx.ExecContext(t.ctx, `INSERT INTO recordbot_index_meta (k, v) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET v = excluded.v`, k, v)
	return err
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

func (t postgresTx) put(r row) error {
	_, err := t.tx.ExecContext(t.ctx, `INSERT INTO recordbot_index_docs (id, key, filed_at, platform, classes, entry, text, partial, notext, named, people, allw)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::tsvector, $11::tsvector, $12::tsvector)
		ON CONFLICT (id) DO UPDATE SET key = excluded.key, filed_at = excluded.filed_at, platform = excluded.platform, classes = excluded.classes,
			entry = excluded.entry, text = excluded.text, partial = excluded.partial, notext = excluded.notext,
			named = excluded.named, people = excluded.people, allw = excluded.allw`,
		r.ID, r.Key, r.FiledAt.UnixMilli(), r.Platform, r.Classes, r.Entry, r.Text, r.Partial, r.NoText,
		vector(r.Meta), vector(r.People), vector(r.Meta, r.People, r.Body))
	return err
}

// putAll writes many rows in few statements, as a catch-up's batch does:
// one INSERT a row costs a round trip each. A statement takes at most
// 65,535 parameters (PostgreSQL's wire protocol counts them in 16 bits):
// 5,461 rows of 12.
func (t postgresTx) putAll(rows []row) error {
	const cols = 12
	for len(rows) > 0 {
		n := min(len(rows), 65535/cols)
		var b strings.Builder
		args := make([]any, 0, n*cols)
		b.WriteString(`INSERT INTO recordbot_index_docs (id, key, filed_at, platform, classes, entry, text, partial, notext, named, people, allw) VALUES `)
		for i, r := range rows[:n] {
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
		rows = rows[n:]
	}
	return nil
}

func (t postgresTx) setState(id, state string) error {
	q := `UPDATE recordbot_index_docs SET state = $1 WHERE id = $2 AND state <> 'destroyed' AND ($1 <> '' OR state = 'held')`
	if state == Destroyed {
		// A destroyed record's transcript is gone: its words go too.
		q = `UPDATE recordbot_index_docs SET state = $1, text = '', allw = named || people WHERE id = $2 AND state <> 'destroyed'`
	}
	_, err := t.tx.ExecContext(t.ctx, q, state, id)
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

func (p *postgresDB) candidates(ctx context.Context, sel selection) ([]row, bool, error) {
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
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
	if !sel.from.IsZero() {
		q += ` AND filed_at >= ` + arg(sel.from.UnixMilli())
	}
	if !sel.to.IsZero() {
		q += ` AND filed_at < ` + arg(sel.to.UnixMilli())
	}
	if sel.class != "" {
		q += ` AND strpos(classes, ` + arg(" "+sel.class+" ") + `) > 0`
	}
	if sel.plat != "" {
		q += ` AND platform = ` + arg(sel.plat)
	}
	if match != "" {
		q = `WITH m AS MATERIALIZED (` + q + `) SELECT * FROM m`
	}
	q += ` ORDER BY ranked DESC, filed_at DESC, id DESC LIMIT ` + arg(sel.limit)
	rows, err := p.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, false, fmt.Errorf("search the index: %w", err)
	}
	defer rows.Close()
	var out []row
	for rows.Next() {
		var r row
		var ms int64
		var ranked bool
		if err := rows.Scan(&r.ID, &r.Key, &ms, &r.Platform, &r.Classes, &r.State, &r.Entry, &r.Partial, &r.NoText, &ranked); err != nil {
			return nil, false, err
		}
		r.FiledAt = time.UnixMilli(ms).UTC()
		out = append(out, r)
	}
	return out, len(out) >= sel.limit, rows.Err()
}

func (p *postgresDB) states(ctx context.Context) (map[string]string, error) {
	rows, err := p.db.QueryContext(ctx, `SELECT id, state FROM recordbot_index_docs`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var id, state string
		if err := rows.Scan(&id, &state); err != nil {
			return nil, err
		}
		out[id] = state
	}
	return out, rows.Err()
}

func (p *postgresDB) noText(ctx context.Context) ([]row, error) {
	rows, err := p.db.QueryContext(ctx, `SELECT id, filed_at, platform, classes, state, entry FROM recordbot_index_docs WHERE notext`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []row
	for rows.Next() {
		var r row
		var ms int64
		if err := rows.Scan(&r.ID, &ms, &r.Platform, &r.Classes, &r.State, &r.Entry); err != nil {
			return nil, err
		}
		r.FiledAt, r.NoText = time.UnixMilli(ms).UTC(), true
		out = append(out, r)
	}
	return out, rows.Err()
}
