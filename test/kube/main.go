// Command kube-testenv is the test environment's Kubernetes control plane: the real
// kube-apiserver and kubectl from k8s.io/kubernetes, and a single-member etcd embedded with
// go.etcd.io/etcd/server/v3/embed, in one binary so that one `go build` links them once.
//
//	kube-testenv etcd --data-dir DIR --listen-client-url URL --listen-peer-url URL [--unsafe-no-fsync]
//	kube-testenv kube-apiserver <kube-apiserver flags>
//	kube-testenv kubectl <kubectl arguments>    (or run it through a symlink named kubectl)
//	kube-testenv version
//
// Each subcommand runs until SIGTERM or SIGINT and then shuts down cleanly.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"k8s.io/component-base/version"
)

func main() {
	// A symlink named kubectl makes this binary a drop-in kubectl.
	if strings.HasPrefix(filepath.Base(os.Args[0]), "kubectl") {
		os.Exit(runKubectl(os.Args[1:]))
	}
	if len(os.Args) < 2 {
		usage()
		os.Exit(2)
	}
	args := os.Args[2:]
	switch os.Args[1] {
	case "etcd":
		os.Exit(runEtcd(args))
	case "kube-apiserver":
		os.Exit(runAPIServer(args))
	case "kubectl":
		os.Exit(runKubectl(args))
	case "version":
		fmt.Println(version.Get().GitVersion)
	default:
		usage()
		os.Exit(2)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: kube-testenv etcd|kube-apiserver|kubectl|version [flags]")
}
