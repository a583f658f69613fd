"""What the compiler writes and the reconciler reads, so neither half imports the other: the
names in the environment repo (files, labels, annotations, namespaces), sizes as Kubernetes
writes them, and the sealed secrets file with the encryption it needs."""
