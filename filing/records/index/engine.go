package index

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// sqlDB is the index in a database/sql database: SQLite or PostgreSQL,
// whose differences are in its dialect. The SQL both take is here once,
// written with ? for each argument and {docs} and {meta} for the tables.
type sqlDB struct {
	db *sql.DB
	d  *dialect
	// queries caches the shared SQL in d's words.
	queries sync.Map
}

// dialect is what one engine does its own way.
type dialect struct {
	// docs and meta are the names of the records' and the meta table.
	docs, meta string
	// numbered is set when arguments are $1, $2… rather than ?.
	numbered bool
	// noText selects the records with no transcript, in the words of the
	// partial index that finds them.
	noText string
	// reset empties every table.
	reset string
	// instr is the function that finds a string in another: instr(s, t)
	// in SQLite, strpos(s, t) in PostgreSQL.
	instr string
	// putAll writes rows, none of them of the same record.
	putAll func(t sqlTx, rows []row) error
	// dropWords takes a destroyed record's transcript, text and words,
	// out of its row.
	dropWords func(t sqlTx, id string) error
	// candidates is the query, and its arguments, of backend.candidates:
	// it selects id, key, filed_at, platform, classes, state, entry,
	// partial, notext and whether the title, channel or people hold the
	// words.
	candidates func(d *dialect, sel selection) (string, []any)
}

// sql is query q in the dialect's words.
func (d *dialect) sql(q string) string {
	q = strings.NewReplacer("{docs}", d.docs, "{meta}", d.meta).Replace(q)
	if !d.numbered {
		return q
	}
	var b strings.Builder
	n := 0
	for _, c := range q {
		if c == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

// args gathers a query's arguments.
type args struct {
	d    *dialect
	list []any
}

// add adds v and returns its placeholder.
func (a *args) add(v any) string {
	a.list = append(a.list, v)
	if a.d.numbered {
		return "$" + strconv.Itoa(len(a.list))
	}
	return "?"
}

// filters writes the conditions of sel other than its words, each as
// " AND …", on the columns of table alias t ("" for none).
func (d *dialect) filters(sel selection, t string, a *args) string {
	var q strings.Builder
	if !sel.from.IsZero() {
		q.WriteString(` AND ` + t + `filed_at >= ` + a.add(sel.from.UnixMilli()))
	}
	if !sel.to.IsZero() {
		q.WriteString(` AND ` + t + `filed_at < ` + a.add(sel.to.UnixMilli()))
	}
	if sel.class != "" {
		q.WriteString(` AND ` + d.instr + `(` + t + `classes, ` + a.add(" "+sel.class+" ") + `) > 0`)
	}
	if sel.plat != "" {
		q.WriteString(` AND ` + t + `platform = ` + a.add(sel.plat))
	}
	return q.String()
}

// q is shared query q in s's dialect.
func (s *sqlDB) q(q string) string {
	if v, ok := s.queries.Load(q); ok {
		return v.(string)
	}
	v := s.d.sql(q)
	s.queries.Store(q, v)
	return v
}

func (s *sqlDB) close() error { return s.db.Close() }

func (s *sqlDB) meta(ctx context.Context, k string) (string, error) {
	var v string
	err := s.db.QueryRowContext(ctx, s.q(`SELECT v FROM {meta} WHERE k = ?`), k).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return v, err
}

func (s *sqlDB) has(ctx context.Context, id string) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx, s.q(`SELECT count(*) FROM {docs} WHERE id = ?`), id).Scan(&n)
	return n > 0, err
}

func (s *sqlDB) count(ctx context.Context) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, s.q(`SELECT count(*) FROM {docs}`)).Scan(&n)
	return n, err
}

func (s *sqlDB) text(ctx context.Context, id string) (string, error) {
	var t string
	err := s.db.QueryRowContext(ctx, s.q(`SELECT text FROM {docs} WHERE id = ?`), id).Scan(&t)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return t, err
}

func (s *sqlDB) reset(ctx context.Context) error {
	_, err := s.db.ExecContext(ctx, s.d.reset)
	return err
}

func (s *sqlDB) write(ctx context.Context, fn func(w writer) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(sqlTx{ctx, tx, s}); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// sqlTx is a writer in one transaction of s.
type sqlTx struct {
	ctx context.Context
	tx  *sql.Tx
	s   *sqlDB
}

func (t sqlTx) setMeta(k, v string) error {
	_, err := t.tx.ExecContext(t.ctx, t.s.q(`INSERT INTO {meta} (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v`), k, v)
	return err
}

func (t sqlTx) putAll(rows []row) error { return t.s.d.putAll(t, lastOfEach(rows)) }

func (t sqlTx) setState(id, state string) error {
	res, err := t.tx.ExecContext(t.ctx, t.s.q(`UPDATE {docs} SET state = ? WHERE id = ? AND state <> 'destroyed' AND (? <> '' OR state = 'held')`), state, id, state)
	if err != nil || state != Destroyed {
		return err
	}
	if changed, err := res.RowsAffected(); err != nil || changed == 0 {
		return err
	}
	// A destroyed record's transcript is gone: its words go too. Its
	// title, channel and people stay findable, as its residual entry does.
	return t.s.d.dropWords(t, id)
}

func (s *sqlDB) candidates(ctx context.Context, sel selection) ([]row, bool, error) {
	q, args := s.d.candidates(s.d, sel)
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

func (s *sqlDB) states(ctx context.Context) (map[string]string, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT id, state FROM {docs}`))
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

func (s *sqlDB) noText(ctx context.Context) ([]row, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT id, filed_at, platform, classes, state, entry FROM {docs} WHERE `+s.d.noText))
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
