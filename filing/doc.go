// Package filing turns a captured thread (a capture.Thread) into a record:
// an immutable BagIt package filed under the organisation's file plan, in
// storage the organisation owns. It never speaks to a chat platform; the
// front ends in bot/ hand it requests, and the capture sources hand it
// threads.
//
// It does four jobs, each in its own files:
//
//  1. The domain: the file plan and its classes, retention and markings
//     (plan.go, sampleplan.yml), where records lie in the store
//     (layout.go), and what a record says of itself (record.go:
//     record.json, the index entry, the audit events).
//  2. Requests and their worker: Service accepts a filing request, checks
//     it and stores it durably before the person is told (request.go,
//     service.go), and its worker claims, captures, files, retries and
//     reports each one through a Notifier (worker.go).
//  3. The record package: the BagIt bag with its manifests and bag-info
//     (bag.go), and the readable transcripts written into it
//     (transcript.go, pdf.go).
//  4. What it asks of storage: the Store interface and the optional ones a
//     store may add, Object Lock (Locker, LockProver), versions
//     (Versioner, Remover) and readiness (Pinger), in store.go, remove.go
//     and versions.go, which also reads a record's first version, to
//     tell a record from anything written over it later.
//
// The stores themselves live in packages of their own, so that filing
// imports no storage SDK (a test keeps it so): filing/s3 (S3 or MinIO
// through minio-go, with Object Lock and its mode in s3.Config) and
// filing/local (a local directory). The records officer's work on filed
// records (listing, verifying, registers, retention and disposal) is in
// filing/records.
package filing
