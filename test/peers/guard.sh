#!/usr/bin/env bash
# guard.sh PARENT_PID -- CMD...: runs CMD and ends it when PARENT_PID is gone, so a test run that
# is killed (even with SIGKILL) never leaves etcd, kube-apiserver or moto running.
parent=$1; shift; shift
"$@" &
child=$!
stop() { kill -TERM "$child" 2>/dev/null; for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$child" 2>/dev/null || exit 0; sleep 0.3; done; kill -KILL "$child" 2>/dev/null; exit 0; }
trap stop TERM INT HUP
while kill -0 "$child" 2>/dev/null; do
  kill -0 "$parent" 2>/dev/null || stop
  sleep 1 & wait $!
done
wait "$child"
