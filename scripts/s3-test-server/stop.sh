#!/bin/bash
# Stop the daemons started by start.sh, by their pid files only: gateways, then OSD, then mon;
# SIGTERM, wait up to 10 s each, then SIGKILL.
# Usage: stop.sh DIR (the directory given to start.sh).
D=${1:?usage: stop.sh DIR}
[ -d "$D/run" ] || exit 0
for name in client.rgw.a client.rgw.sts osd.0 mon.a; do
  f="$D/run/$name.pid"; [ -f "$f" ] || continue; p=$(cat "$f")
  kill "$p" 2>/dev/null || continue
  for i in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$p" 2>/dev/null && kill -9 "$p" 2>/dev/null
  echo "stopped $name pid $p"
done
exit 0
