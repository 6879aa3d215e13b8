#!/usr/bin/env bash
# Makes a throwaway cluster CA and one certificate for the silos and one for the CLI, both TLS roles, in DIR
# (README "TLS" has the same openssl commands for a real deployment, whose CA key stays offline).
#   deploy/local/certificates.sh DIR
set -euo pipefail
dir=${1:?usage: certificates.sh DIR}
mkdir -p "$dir"
cd "$dir"
openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=Cluster local CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -keyout ca.key -out ca.crt 2>/dev/null
for name in silo client; do
  openssl req -newkey rsa:2048 -nodes -subj "/CN=$name" -keyout $name.key -out $name.csr 2>/dev/null
  openssl x509 -req -in $name.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 -out $name.crt 2>/dev/null \
    -extfile <(printf "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\n")
  rm $name.csr
done
