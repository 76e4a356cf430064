#!/bin/bash
# Minimal single-host Ceph for tests: 1 mon, 1 memstore OSD (data in RAM), no mgr, cephx off,
# plus two radosgw on the same cluster:
#   127.0.0.1:7480  S3, STS off  -> AWS-like auth errors (SignatureDoesNotMatch / InvalidAccessKeyId)
#   127.0.0.1:7481  S3 + STS (AssumeRole, session tokens); auth failures come back as AccessDenied
# SSE-KMS uses rgw's 'testing' KMS backend (keys testkey-1, testkey-2); SSE-C allowed over plain HTTP.
# Needs: apt-get install -y --no-install-recommends radosgw ceph-mon ceph-osd
# Usage: start.sh DIR. Stop with stop.sh DIR (kills by pid files).
# Ports: RGW_PORT (S3, default 7480), RGW_STS_PORT (S3+STS, default RGW_PORT+1),
#        MON_PORT (msgr v2, default 3300) and MON_PORT_V1 (default 6789).
# Adapted for destination-s3-export's tests: ports from the environment, run dir as argument.
set -euo pipefail
D=$(realpath -m "${1:?usage: start.sh DIR}")
RGW_PORT=${RGW_PORT:-7480}
RGW_STS_PORT=${RGW_STS_PORT:-$((RGW_PORT + 1))}
MON_PORT=${MON_PORT:-3300}
MON_PORT_V1=${MON_PORT_V1:-6789}
rm -rf "$D"; mkdir -p "$D"/{mon/a,osd/0,out,run,rgw}
FSID=$(cat /proc/sys/kernel/random/uuid)
C="$D/ceph.conf"
cat > "$C" <<CONF
[global]
fsid = $FSID
mon_host = [v2:127.0.0.1:$MON_PORT,v1:127.0.0.1:$MON_PORT_V1]
public_addr = 127.0.0.1
ms_bind_ipv6 = false
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
ms_mon_client_mode = crc
ms_mon_service_mode = crc
ms_mon_cluster_mode = crc
ms_client_mode = crc
ms_service_mode = crc
ms_cluster_mode = crc
client_mount_timeout = 30
keyring = $D/keyring
run_dir = $D/run
admin_socket = $D/run/\$name.asok
pid_file = $D/run/\$name.pid
log_file = $D/out/\$name.log
crash_dir = $D/out
osd_pool_default_size = 1
osd_pool_default_min_size = 1
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_pool_default_pg_autoscale_mode = off
mon_allow_pool_size_one = true
mon_warn_on_pool_no_redundancy = false
mon_max_pg_per_osd = 1000
osd_crush_chooseleaf_type = 0
[mon]
mon_data = $D/mon/\$id
mon_cluster_log_file = $D/out/cluster.log
[osd]
osd_data = $D/osd/\$id
osd_objectstore = memstore
memstore_device_bytes = 8589934592
osd_op_num_shards = 1
osd_op_num_threads_per_shard = 1
[client]
rgw_data = $D/rgw
rgw_thread_pool_size = 32
rgw_crypt_require_ssl = false
rgw_crypt_s3_kms_backend = testing
rgw_crypt_s3_kms_encryption_keys = testkey-1=YmluCmJvb3N0CmJvb3N0LWJ1aWxkCmNlcGguY29uZgo= testkey-2=aWIKTWFrZWZpbGUKbWFuCm91dApzcmMKVGVzdGluZwo=
rgw_sts_key = abcdefghijklmnop
rgw_gc_obj_min_wait = 10
rgw_gc_processor_period = 10
[client.rgw.a]
rgw_frontends = beast endpoint=127.0.0.1:$RGW_PORT
rgw_s3_auth_use_sts = false
[client.rgw.sts]
rgw_frontends = beast endpoint=127.0.0.1:$RGW_STS_PORT
rgw_s3_auth_use_sts = true
CONF
ceph-authtool --create-keyring "$D/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
monmaptool --create --clobber --fsid "$FSID" --addv a "[v2:127.0.0.1:$MON_PORT,v1:127.0.0.1:$MON_PORT_V1]" "$D/monmap" >/dev/null
ceph-mon -c "$C" --mkfs -i a --monmap "$D/monmap" --keyring "$D/keyring"
ceph-mon -c "$C" -i a
OSD_UUID=$(cat /proc/sys/kernel/random/uuid)
ceph -c "$C" osd new "$OSD_UUID" >/dev/null
ceph-osd -c "$C" -i 0 --mkfs --osd-uuid "$OSD_UUID" >>"$D/out/osd-mkfs.log" 2>&1
ceph-osd -c "$C" -i 0 2>>"$D/out/osd-stderr.log"
# pre-create the pools radosgw would otherwise create lazily on the first bucket/object/multipart (~2 s each)
for pool in .rgw.root default.rgw.log default.rgw.control default.rgw.meta default.rgw.buckets.index default.rgw.buckets.data default.rgw.buckets.non-ec; do
  ceph -c "$C" osd pool create "$pool" 8 8 >/dev/null 2>&1
  ceph -c "$C" osd pool application enable "$pool" rgw >/dev/null 2>&1
done
radosgw -c "$C" -n client.rgw.a
radosgw -c "$C" -n client.rgw.sts
# wait until both gateways answer HTTP (radosgw creates its pools on first start: ~10 s)
for port in $RGW_PORT $RGW_STS_PORT; do
  for i in $(seq 1 600); do curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$port/" && break; sleep 0.1; done
  curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$port/" || { echo "radosgw on $port not ready; see $D/out" >&2; exit 1; }
done
# test identity: S3 user 'tester' + role S3Writer it may assume
radosgw-admin -c "$C" user create --uid=tester --display-name=Tester \
  --access-key=TESTERAK0000000000 --secret-key=TESTERSK00000000000000000000000000000000 >/dev/null
radosgw-admin -c "$C" caps add --uid=tester --caps="roles=*;oidc-provider=*" >/dev/null
radosgw-admin -c "$C" role create --role-name=S3Writer --path=/ \
  --assume-role-policy-doc='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam:::user/tester"]},"Action":["sts:AssumeRole"]}]}' >/dev/null
radosgw-admin -c "$C" role-policy put --role-name=S3Writer --policy-name=AllowS3 \
  --policy-doc='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*"],"Resource":["arn:aws:s3:::*"]}]}' >/dev/null
echo "radosgw ready: S3 http://127.0.0.1:$RGW_PORT, S3+STS http://127.0.0.1:$RGW_STS_PORT, AK=TESTERAK0000000000 role=arn:aws:iam:::role/S3Writer"
