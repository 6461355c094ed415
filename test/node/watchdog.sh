#!/usr/bin/env bash
# watchdog.sh PARENT_PID WORKDIR: started detached (setsid) by the node harness; when PARENT_PID
# is gone (the test process ended, however it ended) it runs teardown.sh WORKDIR. The harness's
# normal stop runs teardown.sh itself and then ends this watchdog.
parent=$1 work=$2
here=$(cd "$(dirname "$0")" && pwd)
trap 'exit 0' TERM
while kill -0 "$parent" 2>/dev/null; do sleep 1 & wait $!; done
exec bash "$here/teardown.sh" "$work"
