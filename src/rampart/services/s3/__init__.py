"""Amazon S3: buckets, objects on the local file system, bucket policies and ACLs enforced."""
