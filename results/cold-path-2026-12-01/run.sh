#!/bin/sh
# A/B of cold processing at 10,000 members: `base` (a8eff57) and `ps`
# (EncryptedPathSecrets), each built as `compare` into /tmp/cmprun; versions
# in turn, 2 threads then 1; a second round (suffix -r2) in reverse order.
R=$(cd "$(dirname "$0")" && pwd)
OPS=process_cold,process_add_cold,process_remove_cold,server_process_cold,process,server_process
cd /tmp/cmprun
SUF=${1:-}
for t in 2 1; do
  for v in ${ORDER:-base ps}; do
    echo "$v t$t start $(date +%T) load $(cut -d' ' -f1-3 /proc/loadavg)" >> $R/log.txt
    ./compare-$v --members 10000 --threads $t --runs 2 --reps 5 --impl throng,crypto-floor --ops $OPS --committer all --json-out $R/$v-t$t$SUF.jsonl > $R/$v-t$t$SUF.md 2>>$R/log.txt
  done
done
echo "done $(date +%T)" >> $R/log.txt
