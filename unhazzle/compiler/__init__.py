"""The compiler half: unhazzle.yaml -> validated model -> sizing -> manifests."""
