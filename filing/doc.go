// Package filing turns a captured thread (a capture.Thread) into a record:
// an immutable BagIt package filed under the organisation's file plan, in
// storage the organisation owns. It never speaks to a chat platform; the
// front ends in bot/ hand it requests, and the capture sources hand it
// threads.
//
// It does five jobs today, each in its own files:
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
//     (transcript.go).
//  4. The stores behind the Store interface (store.go): S3 or MinIO with
//     Object Lock (s3.go), a local directory (local.go); the proof that
//     the lock holds (lockproof.go), and every version of an object, to
//     tell a record from anything written over it later (versions.go).
//  5. The records officer's work on filed records (listing, verifying,
//     registers, retention and disposal) is in the subpackage
//     filing/records.
//
// Where the layout is heading: the two stores move to packages of their
// own under filing/, so that filing imports no storage SDK outside them.
package filing
