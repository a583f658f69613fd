// The node's own small programs, built by unhazzle/devcluster/builder/build.sh: the sandbox ("pause")
// program every instance's network namespace hangs on, and the test app the real-node tests run.
module unhazzle.local/node

go 1.25.0
