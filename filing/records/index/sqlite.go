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

// sqlite is SQLite's dialect: the words in an FTS5 table beside the
// records', joined by rowid.
var sqlite = &dialect{
	docs: "docs", meta: "meta",
	noText:     "notext = 1",
	reset:      `DELETE FROM docs; DELETE FROM docs_fts; DELETE FROM meta;`,
	instr:      "instr",
	putAll:     sqlitePutAll,
	dropWords:  sqliteDropWords,
	candidates: sqliteCandidates,
}

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
	return &sqlDB{db: db, d: sqlite}, nil
}

func sqlitePutAll(t sqlTx, rows []row) error {
	for _, r := range rows {
		if err := sqlitePut(t, r); err != nil {
			return err
		}
	}
	return nil
}

func sqlitePut(t sqlTx, r row) error {
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

func sqliteDropWords(t sqlTx, id string) error {
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
	_, err := t.tx.ExecContext(t.ctx, `INSERT INTO docs_fts (rowid, meta, people, body) VALUES (?, ?, ?, '')`, n, meta, people)
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

func sqliteCandidates(d *dialect, sel selection) (string, []any) {
	var match []string
	var rank string
	a := &args{d: d}
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
		q = `WITH m AS MATERIALIZED (SELECT rowid AS n FROM docs_fts WHERE docs_fts MATCH ` + a.add(strings.Join(match, " AND ")) + `)`
		if rank != "" {
			q += `, r AS MATERIALIZED (SELECT rowid AS n FROM docs_fts WHERE docs_fts MATCH ` + a.add("{meta people} : ("+rank+")") + `)`
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
	q += d.filters(sel, "d.", a)
	q += ` ORDER BY named DESC, d.filed_at DESC, d.id DESC LIMIT ` + a.add(sel.limit)
	return q, a.list
}
