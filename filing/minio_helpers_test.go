package filing_test

import "github.com/minio/minio-go/v7"

func minioGetTagging() minio.GetObjectTaggingOptions { return minio.GetObjectTaggingOptions{} }

func minioListVersions(key string) minio.ListObjectsOptions {
	return minio.ListObjectsOptions{Prefix: key, WithVersions: true}
}

func minioRemoveVersion(v string) minio.RemoveObjectOptions {
	return minio.RemoveObjectOptions{VersionID: v}
}
