// Package s3 is the record store in an S3 bucket (AWS S3, MinIO, any
// S3-compatible service), through minio-go: the only package under filing/
// that speaks to an S3 SDK. filing uses it through filing.Store and the
// optional interfaces it implements (filing.Locker, filing.Versioner,
// filing.Remover, filing.LockProver, filing.Pinger).
package s3

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"iter"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/recordbot/recordbot/filing"
)

// Config says where the S3 store is.
type Config struct {
	// Endpoint is host[:port], without scheme ("s3.eu-west-2.amazonaws.com",
	// "127.0.0.1:9000"). A scheme, if given, sets Insecure.
	Endpoint  string
	Bucket    string
	AccessKey string
	SecretKey string
	Region    string
	// Prefix is put in front of every key, so several deployments can
	// share a bucket.
	Prefix string
	// Insecure uses plain HTTP instead of TLS.
	Insecure bool
	// PathStyle is "auto" (default), "on" (path-style URLs, as MinIO
	// usually needs) or "off" (virtual-host style).
	PathStyle string
	// UseIAM takes credentials from the environment's IAM role (instance
	// metadata) when AccessKey and SecretKey are empty. Without it, empty
	// keys are an error: the metadata address is never contacted unasked.
	UseIAM bool
	// LockMode is the Object Lock mode a record's objects are retained
	// in: "GOVERNANCE" (the default) or "COMPLIANCE".
	LockMode string
}

// ConfigError is a mistake in the Config that a person can fix. Reason
// has a %s for each of Fields (Config field names), so that whoever knows
// where each field is set can name it there; Error names the fields in
// words.
type ConfigError struct {
	Fields []string
	Reason string
}

func (e *ConfigError) Error() string {
	return e.Say(func(field string) string { return fieldWords[field] })
}

// Say renders the error, naming each field with name.
func (e *ConfigError) Say(name func(field string) string) string {
	args := make([]any, len(e.Fields))
	for i, f := range e.Fields {
		args[i] = name(f)
	}
	return fmt.Sprintf(e.Reason, args...)
}

var fieldWords = map[string]string{
	"Endpoint": "the S3 endpoint", "Bucket": "the S3 bucket", "AccessKey": "the S3 access key",
	"SecretKey": "the S3 secret key", "UseIAM": "using the IAM role", "PathStyle": "the S3 path style",
	"Prefix": "the S3 key prefix", "LockMode": "the object lock mode", "Insecure": "plain HTTP (insecure)",
}

func configErr(reason string, fields ...string) error {
	return &ConfigError{Fields: fields, Reason: reason}
}

// Validate checks the configuration for mistakes a person can fix: each is
// a *ConfigError, joined.
func (c *Config) Validate() error {
	var errs []error
	if c.Endpoint == "" {
		errs = append(errs, configErr("%s is not set (host:port of the S3 service)", "Endpoint"))
	}
	if c.Bucket == "" {
		errs = append(errs, configErr("%s is not set", "Bucket"))
	}
	switch {
	case (c.AccessKey == "") != (c.SecretKey == ""):
		errs = append(errs, configErr("set both %s and %s", "AccessKey", "SecretKey"))
	case c.AccessKey == "" && !c.UseIAM:
		errs = append(errs, configErr("%s and %s are empty: set them, or choose %s (the machine's role)", "AccessKey", "SecretKey", "UseIAM"))
	case c.AccessKey != "" && c.UseIAM:
		errs = append(errs, configErr("%s and %s are both set: choose one", "UseIAM", "AccessKey"))
	}
	switch strings.ToLower(c.PathStyle) {
	case "", "auto", "on", "off", "true", "false", "path", "virtual":
	default:
		errs = append(errs, configErr("%s="+strconvQuote(c.PathStyle)+": want auto, on or off", "PathStyle"))
	}
	if m := strings.ToUpper(c.LockMode); m != "" && !minio.RetentionMode(m).IsValid() {
		errs = append(errs, configErr("%s="+strconvQuote(c.LockMode)+": want GOVERNANCE or COMPLIANCE", "LockMode"))
	}
	if strings.Contains(c.Prefix, "..") {
		errs = append(errs, configErr("%s="+strconvQuote(c.Prefix)+" must not contain ..", "Prefix"))
	}
	return errors.Join(errs...)
}

// strconvQuote quotes a value for a ConfigError's reason, with any %
// doubled so that it is not read as a verb.
func strconvQuote(v string) string {
	return strings.ReplaceAll(fmt.Sprintf("%q", v), "%", "%%")
}

// Store is a filing.Store in an S3 bucket (AWS S3, MinIO, any S3-compatible
// service) through minio-go. Creates are conditional (If-None-Match: *), so
// nothing is ever overwritten; with Object Lock on the bucket a record's
// objects get a retain-until date, in the mode of Config.LockMode.
type Store struct {
	client   *minio.Client
	bucket   string
	prefix   string // "" or ending in "/"
	locking  bool
	lockMode minio.RetentionMode
}

var (
	_ filing.Store      = (*Store)(nil)
	_ filing.Locker     = (*Store)(nil)
	_ filing.LockProver = (*Store)(nil)
	_ filing.Pinger     = (*Store)(nil)
)

// Open connects to the bucket in c and checks it exists.
func Open(ctx context.Context, c Config) (*Store, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	endpoint, insecure := c.Endpoint, c.Insecure
	if rest, ok := strings.CutPrefix(endpoint, "http://"); ok {
		endpoint, insecure = rest, true
	} else if rest, ok := strings.CutPrefix(endpoint, "https://"); ok {
		endpoint = rest
	}
	endpoint = strings.TrimRight(endpoint, "/")
	var creds *credentials.Credentials
	if c.AccessKey != "" {
		creds = credentials.NewStaticV4(c.AccessKey, c.SecretKey, "")
	} else {
		creds = credentials.NewIAM("")
	}
	lookup := minio.BucketLookupAuto
	switch strings.ToLower(c.PathStyle) {
	case "on", "true", "path":
		lookup = minio.BucketLookupPath
	case "off", "false", "virtual":
		lookup = minio.BucketLookupDNS
	}
	client, err := minio.New(endpoint, &minio.Options{
		Creds: creds, Secure: !insecure, Region: c.Region, BucketLookup: lookup,
	})
	if err != nil {
		return nil, fmt.Errorf("s3 %s: %w", endpoint, err)
	}
	s := &Store{client: client, bucket: c.Bucket, lockMode: minio.Governance}
	if c.LockMode != "" {
		s.lockMode = minio.RetentionMode(strings.ToUpper(c.LockMode))
	}
	if p := strings.Trim(c.Prefix, "/"); p != "" {
		s.prefix = p + "/"
	}
	ok, err := client.BucketExists(ctx, c.Bucket)
	if err != nil {
		return nil, &ReachError{Endpoint: endpoint, Bucket: c.Bucket, Err: err, Hint: reachHint(err, insecure)}
	}
	if !ok {
		return nil, fmt.Errorf("s3 %s: bucket %q does not exist; create it with object locking, e.g. `mc mb --with-lock ALIAS/%s` or `aws s3api create-bucket --object-lock-enabled-for-bucket`", endpoint, c.Bucket, c.Bucket)
	}
	s.locking, err = s.Locking(ctx)
	if err != nil {
		return nil, fmt.Errorf("s3 %s: %w", endpoint, err)
	}
	return s, nil
}

// ReachError is a bucket that cannot be reached, with advice (Hint, when
// the reason is a usual one) naming the Config fields to check.
type ReachError struct {
	Endpoint, Bucket string
	Err              error
	Hint             *ConfigError
}

func (e *ReachError) Error() string {
	return e.Say(func(field string) string { return fieldWords[field] })
}

// Say renders the error, naming the fields in the hint with name.
func (e *ReachError) Say(name func(field string) string) string {
	msg := fmt.Sprintf("s3 %s: cannot reach bucket %q: %v", e.Endpoint, e.Bucket, e.Err)
	if e.Hint != nil {
		msg += " (" + e.Hint.Say(name) + ")"
	}
	return msg
}

func (e *ReachError) Unwrap() error { return e.Err }

// reachHint turns the usual reasons a bucket cannot be reached into advice.
func reachHint(err error, insecure bool) *ConfigError {
	msg := err.Error()
	resp := minio.ToErrorResponse(err)
	switch {
	case strings.Contains(msg, "server gave HTTP response to HTTPS client"),
		!insecure && strings.Contains(msg, "first record does not look like a TLS handshake"):
		return &ConfigError{Fields: []string{"Insecure", "Endpoint"}, Reason: "the endpoint speaks plain HTTP: turn on %s or write %s as http://host:port"}
	case insecure && strings.Contains(msg, "malformed HTTP response"):
		return &ConfigError{Fields: []string{"Insecure", "Endpoint"}, Reason: "the endpoint speaks HTTPS: turn off %s or write %s as https://host:port"}
	case resp.StatusCode == http.StatusForbidden || resp.Code == "AccessDenied" || resp.Code == "InvalidAccessKeyId" || resp.Code == "SignatureDoesNotMatch":
		return &ConfigError{Fields: []string{"AccessKey", "SecretKey"}, Reason: "check %s and %s, and that they may read this bucket"}
	case strings.Contains(msg, "connection refused") || strings.Contains(msg, "no such host"):
		return &ConfigError{Fields: []string{"Endpoint"}, Reason: "check %s: nothing answers there"}
	}
	return nil
}

// Client returns the underlying minio-go client.
func (s *Store) Client() *minio.Client { return s.client }

// Bucket returns the bucket name.
func (s *Store) Bucket() string { return s.bucket }

// Prefix returns the key prefix of the store's objects in the bucket: ""
// or ending in "/".
func (s *Store) Prefix() string { return s.prefix }

// Endpoint returns the S3 service's host and port.
func (s *Store) Endpoint() string { return s.client.EndpointURL().Host }

// Locking implements filing.Locker.
func (s *Store) Locking(ctx context.Context) (bool, error) {
	enabled, _, _, _, err := s.client.GetObjectLockConfig(ctx, s.bucket)
	if err != nil {
		if code := minio.ToErrorResponse(err).Code; code == "ObjectLockConfigurationNotFoundError" || code == "NotImplemented" {
			return false, nil
		}
		return false, fmt.Errorf("read object lock configuration of %q: %w", s.bucket, err)
	}
	return enabled == "Enabled", nil
}

// SetLegalHold implements filing.Locker.
func (s *Store) SetLegalHold(ctx context.Context, key string, on bool) error {
	if !s.locking {
		return fmt.Errorf("legal hold on %s: bucket %q has no Object Lock: %w", key, s.bucket, filing.ErrNotSupported)
	}
	st := minio.LegalHoldDisabled
	if on {
		st = minio.LegalHoldEnabled
	}
	err := s.client.PutObjectLegalHold(ctx, s.bucket, s.prefix+key, minio.PutObjectLegalHoldOptions{Status: &st})
	return s.mapErr("legal hold", key, err)
}

// partSize is the multipart part size for uploads of unknown size: minio-go
// would otherwise pick parts large enough for 5 TiB and buffer one of them.
const partSize = 8 << 20

// Content readable at any offset is sent in parts of atPartSize (more when
// 10,000 parts, S3's most, would not hold it), partsAtOnce at a time,
// each read as it is sent.
const (
	atPartSize  = 16 << 20
	maxParts    = 10_000
	partsAtOnce = 4
)

func (s *Store) putOptions(opts filing.WriteOptions, size int64) minio.PutObjectOptions {
	po := minio.PutObjectOptions{ContentType: opts.ContentType, UserTags: opts.Tags}
	if po.ContentType == "" {
		po.ContentType = "application/octet-stream"
	}
	if size < 0 || size > partSize {
		po.PartSize = partSize
	}
	if s.locking && !opts.RetainUntil.IsZero() {
		po.Mode = s.lockMode
		po.RetainUntilDate = opts.RetainUntil.UTC()
	}
	return po
}

// Create implements Store.
func (s *Store) Create(ctx context.Context, key string, r io.Reader, size int64, opts filing.WriteOptions) (filing.ObjectInfo, error) {
	if err := filing.CheckKey(key); err != nil {
		return filing.ObjectInfo{}, err
	}
	po := s.putOptions(opts, size)
	if size < 0 || size > partSize {
		return s.createParts(ctx, key, r, po)
	}
	po.SetMatchETagExcept("*")
	info, err := s.client.PutObject(ctx, s.bucket, s.prefix+key, r, size, po)
	if err != nil {
		return filing.ObjectInfo{}, s.mapErr("create", key, err)
	}
	return filing.ObjectInfo{Key: key, Size: info.Size, ETag: info.ETag, LastModified: info.LastModified, RetainUntil: po.RetainUntilDate}, nil
}

// partPool holds the part buffers of multipart creates.
var partPool = sync.Pool{New: func() any { b := make([]byte, partSize); return &b }}

// createParts creates key from r in parts of partSize, exclusively:
// minio-go's PutObject drops If-None-Match when it completes a multipart
// upload, so two uploads of one key would both succeed, the later one
// becoming a new version on top. Here the upload is completed with
// If-None-Match: *, which S3 and MinIO check atomically against the
// object's existence when they assemble it: of concurrent creates exactly
// one completes, and the others get filing.ErrExist and are aborted. (AWS S3
// takes no condition on the initiation, so a key that exists already is
// looked for first, to fail before any part is sent; only the
// completion's condition is relied on.)
func (s *Store) createParts(ctx context.Context, key string, r io.Reader, po minio.PutObjectOptions) (filing.ObjectInfo, error) {
	if _, err := s.Stat(ctx, key); err == nil {
		return filing.ObjectInfo{}, fmt.Errorf("create %s: %w", key, filing.ErrExist)
	} else if !errors.Is(err, filing.ErrNotExist) {
		return filing.ObjectInfo{}, err
	}
	core := minio.Core{Client: s.client}
	object := s.prefix + key
	po.PartSize = 0
	ra, readAt := r.(interface {
		io.ReaderAt
		Size() int64
	})
	readAt = readAt && ra.Size() > 0
	if readAt {
		// Its parts carry a CRC-32C rather than an MD5: as S3 (with
		// Object Lock) asks of every part, at a fraction of the cost.
		po.UserMetadata = map[string]string{"X-Amz-Checksum-Algorithm": "CRC32C"}
	}
	id, err := core.NewMultipartUpload(ctx, s.bucket, object, po)
	if err != nil {
		return filing.ObjectInfo{}, s.mapErr("create", key, err)
	}
	completed := false
	defer func() {
		if !completed {
			actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			core.AbortMultipartUpload(actx, s.bucket, object, id)
		}
	}()
	var parts []minio.CompletePart
	var size int64
	if readAt {
		// Content readable at any offset (a file, a zip entry stored
		// uncompressed) is sent in larger parts, several side by side,
		// each read as it is sent: nothing is buffered.
		size = ra.Size()
		psize := max(int64(atPartSize), (size+maxParts-1)/maxParts)
		count := int((size + psize - 1) / psize)
		parts = make([]minio.CompletePart, count)
		pctx, cancel := context.WithCancelCause(ctx)
		defer cancel(nil)
		next := make(chan int)
		var wg sync.WaitGroup
		for range min(partsAtOnce, count) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range next {
					off := int64(i) * psize
					n := min(psize, size-off)
					h := crc32.New(crc32.MakeTable(crc32.Castagnoli))
					if _, err := io.Copy(h, io.NewSectionReader(ra, off, n)); err != nil {
						cancel(fmt.Errorf("create %s: %w", key, err))
						continue
					}
					sum := base64.StdEncoding.EncodeToString(h.Sum(nil))
					part, err := core.PutObjectPart(pctx, s.bucket, object, id, i+1, io.NewSectionReader(ra, off, n), n,
						minio.PutObjectPartOptions{CustomHeader: http.Header{"X-Amz-Checksum-Crc32c": {sum}, "X-Amz-Checksum-Algorithm": {"CRC32C"}}})
					if err != nil {
						cancel(s.mapErr("create", key, err))
						continue
					}
					parts[i] = minio.CompletePart{PartNumber: i + 1, ETag: part.ETag, ChecksumCRC32C: sum}
				}
			}()
		}
	send:
		for i := range count {
			select {
			case next <- i:
			case <-pctx.Done():
				break send
			}
		}
		close(next)
		wg.Wait()
		if err := context.Cause(pctx); err != nil {
			return filing.ObjectInfo{}, err
		}
	} else {
		bp := partPool.Get().(*[]byte)
		defer partPool.Put(bp)
		buf := *bp
		for n := 1; ; n++ {
			k, err := io.ReadFull(r, buf)
			if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
				return filing.ObjectInfo{}, fmt.Errorf("create %s: %w", key, err)
			}
			if k == 0 && n > 1 {
				break
			}
			sum := md5.Sum(buf[:k])
			part, err := core.PutObjectPart(ctx, s.bucket, object, id, n, bytes.NewReader(buf[:k]), int64(k),
				minio.PutObjectPartOptions{Md5Base64: base64.StdEncoding.EncodeToString(sum[:])})
			if err != nil {
				return filing.ObjectInfo{}, s.mapErr("create", key, err)
			}
			parts = append(parts, minio.CompletePart{PartNumber: n, ETag: part.ETag})
			size += int64(k)
			if k < len(buf) {
				break
			}
		}
	}
	var co minio.PutObjectOptions
	co.SetMatchETagExcept("*")
	info, err := core.CompleteMultipartUpload(ctx, s.bucket, object, id, parts, co)
	if err != nil {
		err = s.mapErr("create", key, err)
		if errors.Is(err, filing.ErrConflict) {
			// AWS S3 answers 409 to a completion that raced another
			// one; if that one made the object, this create lost.
			if _, serr := s.Stat(ctx, key); serr == nil {
				err = fmt.Errorf("create %s: %w", key, filing.ErrExist)
			}
		}
		return filing.ObjectInfo{}, err
	}
	completed = true
	return filing.ObjectInfo{Key: key, Size: size, ETag: info.ETag, LastModified: info.LastModified, RetainUntil: po.RetainUntilDate}, nil
}

// Put implements Store.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, size int64, opts filing.WriteOptions) (filing.ObjectInfo, error) {
	if err := filing.CheckKey(key); err != nil {
		return filing.ObjectInfo{}, err
	}
	po := s.putOptions(opts, size)
	if opts.IfMatch != "" {
		po.SetMatchETag(opts.IfMatch)
	}
	info, err := s.client.PutObject(ctx, s.bucket, s.prefix+key, r, size, po)
	if err != nil {
		err = s.mapErr("put", key, err)
		if opts.IfMatch != "" && (errors.Is(err, filing.ErrExist) || errors.Is(err, filing.ErrNotExist)) {
			err = fmt.Errorf("put %s: %w", key, filing.ErrConflict)
		}
		return filing.ObjectInfo{}, err
	}
	return filing.ObjectInfo{Key: key, Size: info.Size, ETag: info.ETag, LastModified: info.LastModified}, nil
}

// Open implements Store.
func (s *Store) Open(ctx context.Context, key string) (io.ReadCloser, filing.ObjectInfo, error) {
	return s.get(ctx, key, minio.GetObjectOptions{})
}

// get sends the GET of key (one version of it, with o.VersionID) and
// describes the object from the answer, its lock included.
func (s *Store) get(ctx context.Context, key string, o minio.GetObjectOptions) (io.ReadCloser, filing.ObjectInfo, error) {
	obj, err := s.client.GetObject(ctx, s.bucket, s.prefix+key, o)
	if err != nil {
		return nil, filing.ObjectInfo{}, s.mapErr("open", key, err)
	}
	// Stat sends the GET and reports a missing object now, not at Read;
	// its answer describes the object this GET reads.
	oi, err := obj.Stat()
	if err != nil {
		obj.Close()
		return nil, filing.ObjectInfo{}, s.mapErr("open", key, err)
	}
	return obj, s3Info(key, oi), nil
}

// Stat implements Store. It reads the retention and legal hold too, when
// the bucket has Object Lock.
func (s *Store) Stat(ctx context.Context, key string) (filing.ObjectInfo, error) {
	oi, err := s.client.StatObject(ctx, s.bucket, s.prefix+key, minio.StatObjectOptions{})
	if err != nil {
		return filing.ObjectInfo{}, s.mapErr("stat", key, err)
	}
	return s3Info(key, oi), nil
}

// s3Info describes the object at key from a HEAD or GET answer, with its
// Object Lock state when the answer carries it.
func s3Info(key string, oi minio.ObjectInfo) filing.ObjectInfo {
	info := filing.ObjectInfo{Key: key, Size: oi.Size, ETag: oi.ETag, LastModified: oi.LastModified}
	if v := oi.Metadata.Get("X-Amz-Object-Lock-Retain-Until-Date"); v != "" {
		info.RetainUntil, _ = time.Parse(time.RFC3339, v)
	}
	info.LegalHold = oi.Metadata.Get("X-Amz-Object-Lock-Legal-Hold") == "ON"
	return info
}

// List implements Store.
func (s *Store) List(ctx context.Context, prefix string) iter.Seq2[filing.ObjectInfo, error] {
	return func(yield func(filing.ObjectInfo, error) bool) {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		for oi := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: s.prefix + prefix, Recursive: true}) {
			if oi.Err != nil {
				yield(filing.ObjectInfo{}, s.mapErr("list", prefix, oi.Err))
				return
			}
			info := filing.ObjectInfo{Key: strings.TrimPrefix(oi.Key, s.prefix), Size: oi.Size, ETag: oi.ETag, LastModified: oi.LastModified}
			if !yield(info, nil) {
				return
			}
		}
	}
}

// Delete implements Store.
func (s *Store) Delete(ctx context.Context, key string) error {
	err := s.client.RemoveObject(ctx, s.bucket, s.prefix+key, minio.RemoveObjectOptions{})
	if err = s.mapErr("delete", key, err); errors.Is(err, filing.ErrNotExist) {
		return nil
	}
	return err
}

// Where implements Store.
func (s *Store) Where(key string) string { return "s3://" + s.bucket + "/" + s.prefix + key }

// mapErr turns S3 errors into the store's own.
func (s *Store) mapErr(op, key string, err error) error {
	if err == nil {
		return nil
	}
	// minio-go's ToErrorResponse sees only an unwrapped ErrorResponse;
	// look through any wrapping too.
	var resp minio.ErrorResponse
	if !errors.As(err, &resp) {
		resp = minio.ToErrorResponse(err)
	}
	switch {
	case resp.Code == "NoSuchKey" || resp.Code == "NoSuchObject" || resp.StatusCode == http.StatusNotFound && resp.Code != "NoSuchBucket":
		return fmt.Errorf("%s %s: %w", op, key, filing.ErrNotExist)
	case resp.Code == "PreconditionFailed" || resp.StatusCode == http.StatusPreconditionFailed ||
		strings.Contains(err.Error(), "pre-conditions you specified did not hold"):
		return fmt.Errorf("%s %s: %w", op, key, filing.ErrExist)
	case resp.Code == "ConditionalRequestConflict" || resp.StatusCode == http.StatusConflict && resp.Code != "BucketAlreadyExists":
		return fmt.Errorf("%s %s: %w", op, key, filing.ErrConflict)
	}
	return fmt.Errorf("%s %s: %w", op, key, err)
}
