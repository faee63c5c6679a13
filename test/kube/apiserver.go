package main

import (
	_ "time/tzdata" // CronJob time zones, as in the upstream kube-apiserver command

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"          // --logging-format=json
	_ "k8s.io/component-base/metrics/prometheus/clientgo" // client-go metrics on /metrics
	_ "k8s.io/component-base/metrics/prometheus/version"  // the version metric
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

// runAPIServer runs the upstream kube-apiserver command with the given flags and returns its
// exit code; it handles SIGTERM itself (graceful shutdown).
func runAPIServer(args []string) int {
	command := app.NewAPIServerCommand()
	command.SetArgs(args)
	return cli.Run(command)
}
