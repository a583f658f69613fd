"""The local Kubernetes control plane for trying Unhazzle and for the tests (`unhazzle dev-cluster`)."""
