package index

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	// The embedded engine: SQLite compiled to Go by modernc.org, with
	// FTS5 built in. Pure Go, so the bot and the records officer's binary
	// stay one static file with no cgo and no server to run; FTS5 gives
	// prefix and phrase queries over a million records from one file.
	// (Bleve, the other pure-Go choice, keeps a directory of segments and
	// would need a second store for the rows that `ls` and `due` read.)
	_ "modernc.org/sqlite"
)

const sqliteSchema = `
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS docs (
	n INTEGER PRIMARY KEY,
	id TEXT NOT NULL UNIQUE,
	key TEXT NOT NULL,
	filed_at INTEGER NOT NULL,
	platform TEXT NOT NULL,
	classes TEXT NOT NULL,
	state TEXT NOT NULL DEFAULT '',
	entry BLOB NOT NULL,
	text TEXT NOT NULL,
	partial INTEGER NOT NULL,
	notext INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS docs_filed ON docs (filed_at);
CREATE INDEX IF NOT EXISTS docs_notext ON docs (n) WHERE notext = 1;
CREATE VIRTUAL TABLE IF NOT EXISTS docs_fts USING fts5(meta, people, body, tokenize = 'unicode61 remove_diacritics 0');
`

type sqliteDB struct{ db *sql.DB }

// openSQLite opens or creates the index file at p, readable by its owner
// only: it holds the words and text of the records' transcripts.
func openSQLite(ctx context.Context, p string) (backend, error) {
	if p == "" {
		return nil, errors.New("no index file given")
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return nil, fmt.Errorf("index folder: %w", err)
	}
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("index file: %w", err)
	}
	f.Close()
	q := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "synchronous(NORMAL)", "busy_timeout(10000)", "foreign_keys(on)"} {
		q.Add("_pragma", p)
	}
	db, err := sql.Open("sqlite", "file:"+filepath.ToSlash(p)+"?"+q.Encode())
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, sqliteSchema); err != nil {
		db.Close()
		return nil, fmt.Errorf("index file %s: %w", p, err)
	}
	return &sqliteDB{db: db}, nil
}

func (s *sqliteDB) close() error { return s.db.Close() }

func (s *sqliteDB) meta(ctx context.Context, k string) (string, error) {
	var v string
	err := s.db.QueryRowContext(ctx, `SELECT v FROM meta WHERE k = ?`, k).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return v, err
}

func (s *sqliteDB) has(ctx context.Context, id string) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM docs WHERE id = ?`, id).Scan(&n)
	return n > 0, err
}

func (s *sqliteDB) count(ctx context.Context) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM docs`).Scan(&n)
	return n, err
}

func (s *sqliteDB) text(ctx context.Context, id string) (string, error) {
	var t string
	err := s.db.QueryRowContext(ctx, `SELECT text FROM docs WHERE id = ?`, id).Scan(&t)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return t, err
}

func (s *sqliteDB) reset(ctx context.Context) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM docs; DELETE FROM docs_fts; DELETE FROM meta;`)
	return err
}

func (s *sqliteDB) write(ctx context.Context, fn func(w writer) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(sqliteTx{ctx, tx}); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

type sqliteTx struct {
	ctx context.Context
	tx  *sql.Tx
}

func (t sqliteTx) setMeta(k, v string) error {
	_, err := t.tx.ExecContext(t.ctx, `INSERT INTO meta (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v`, k, v)
	return err
}

func (t sqliteTx) put(r row) error {
	var n int64
	err := t.tx.QueryRowContext(t.ctx, `SELECT n FROM docs WHERE id = ?`, r.ID).Scan(&n)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		res, err := t.tx.ExecContext(t.ctx, `INSERT INTO docs (id, key, filed_at, platform, classes, entry, text, partial, notext) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.ID, r.Key, r.FiledAt.UnixMilli(), r.Platform, r.Classes, r.Entry, r.Text, r.Partial, r.NoText)
		if err != nil {
			return err
		}
		if n, err = res.LastInsertId(); err != nil {
			return err
		}
	case err != nil:
		return err
	default:
		if _, err := t.tx.ExecContext(t.ctx, `UPDATE docs SET key = ?, filed_at = ?, platform = ?, classes = ?, entry = ?, text = ?, partial = ?, notext = ? WHERE n = ?`,
			r.Key, r.FiledAt.UnixMilli(), r.Platform, r.Classes, r.Entry, r.Text, r.Partial, r.NoText, n); err != nil {
			return err
		}
		if _, err := t.tx.ExecContext(t.ctx, `DELETE FROM docs_fts WHERE rowid = ?`, n); err != nil {
			return err
		}
	}
	_, err = t.tx.ExecContext(t.ctx, `INSERT INTO docs_fts (rowid, meta, people, body) VALUES (?, ?, ?, ?)`, n, r.Meta, r.People, r.Body)
	return err
}

func (t sqliteTx) setState(id, state string) error {
	res, err := t.tx.ExecContext(t.ctx, `UPDATE docs SET state = ? WHERE id = ? AND state <> 'destroyed' AND (? <> '' OR state = 'held')`, state, id, state)
	if err != nil || state != Destroyed {
		return err
	}
	if changed, _ := res.RowsAffected(); changed == 0 {
		return nil
	}
	// A destroyed record's transcript is gone: its words go too. Its
	// title, channel and people stay findable, as its residual entry does.
	var n int64
	var meta, people string
	if err := t.tx.QueryRowContext(t.ctx, `SELECT d.n, f.meta, f.people FROM docs d JOIN docs_fts f ON f.rowid = d.n WHERE d.id = ?`, id).Scan(&n, &meta, &people); err != nil {
		return err
	}
	if _, err := t.tx.ExecContext(t.ctx, `DELETE FROM docs_fts WHERE rowid = ?`, n); err != nil {
		return err
	}
	if _, err := t.tx.ExecContext(t.ctx, `UPDATE docs SET text = '' WHERE n = ?`, n); err != nil {
		return err
	}
	_, err = t.tx.ExecContext(t.ctx, `INSERT INTO docs_fts (rowid, meta, people, body) VALUES (?, ?, ?, '')`, n, meta, people)
	return err
}

// ftsWords writes words as an FTS5 query: each the start of a word, all
// required. Words hold letters and digits only, so quoting cannot be
// broken out of.
func ftsWords(words []string) string {
	var parts []string
	for _, w := range words {
		parts = append(parts, `"`+w+`"*`)
	}
	return strings.Join(parts, " AND ")
}

func (s *sqliteDB) candidates(ctx context.Context, sel selection) ([]row, bool, error) {
	var match []string
	var rank string
	var args []any
	switch {
	case sel.phone != "":
		match = append(match, `"`+sel.phone+`"`)
		rank = `"` + sel.phone + `"`
	case len(sel.words) > 0:
		match = append(match, "("+ftsWords(sel.words)+")")
		rank = ftsWords(sel.words)
	}
	if len(sel.people) > 0 {
		match = append(match, "people : ("+ftsWords(sel.people)+")")
	}
	// The words are matched first, in CTEs SQLite must compute before
	// anything else: left to itself, the planner may walk every record in
	// filing order and probe the full-text index for each, which at a
	// million records takes tens of seconds.
	q := ``
	if len(match) > 0 {
		q = `WITH m AS MATERIALIZED (SELECT rowid AS n FROM docs_fts WHERE docs_fts MATCH ?)`
		args = append(args, strings.Join(match, " AND "))
		if rank != "" {
			q += `, r AS MATERIALIZED (SELECT rowid AS n FROM docs_fts WHERE docs_fts MATCH ?)`
			args = append(args, "{meta people} : ("+rank+")")
		}
		q += ` `
	}
	q += `SELECT d.id, d.key, d.filed_at, d.platform, d.classes, d.state, d.entry, d.partial, d.notext`
	if rank != "" {
		q += `, d.n IN (SELECT n FROM r) AS named`
	} else {
		q += `, 0 AS named`
	}
	if len(match) > 0 {
		q += ` FROM m JOIN docs d ON d.n = m.n WHERE 1`
	} else {
		q += ` FROM docs d WHERE 1`
	}
	if !sel.from.IsZero() {
		q += ` AND d.filed_at >= ?`
		args = append(args, sel.from.UnixMilli())
	}
	if !sel.to.IsZero() {
		q += ` AND d.filed_at < ?`
		args = append(args, sel.to.UnixMilli())
	}
	if sel.class != "" {
		q += ` AND instr(d.classes, ?) > 0`
		args = append(args, " "+sel.class+" ")
	}
	if sel.plat != "" {
		q += ` AND d.platform = ?`
		args = append(args, sel.plat)
	}
	q += ` ORDER BY named DESC, d.filed_at DESC, d.id DESC LIMIT ?`
	args = append(args, sel.limit)
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, false, fmt.Errorf("search the index: %w", err)
	}
	defer rows.Close()
	var out []row
	for rows.Next() {
		var r row
		var ms int64
		var named bool
		if err := rows.Scan(&r.ID, &r.Key, &ms, &r.Platform, &r.Classes, &r.State, &r.Entry, &r.Partial, &r.NoText, &named); err != nil {
			return nil, false, err
		}
		r.FiledAt = time.UnixMilli(ms).UTC()
		out = append(out, r)
	}
	return out, len(out) >= sel.limit, rows.Err()
}

func (s *sqliteDB) states(ctx context.Context) (map[string]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, state FROM docs`)
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

func (s *sqliteDB) noText(ctx context.Context) ([]row, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, filed_at, platform, classes, state, entry FROM docs WHERE notext = 1`)
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
