#!/usr/bin/env bash
# Regenerates the TypeScript types for proto/csi.proto into src/csi/generated/.
# The options mirror the runtime loader (src/csi/proto.ts) so the types match
# what handlers really receive: snake_case keys, int64 as strings, enums as
# strings, defaults filled in, virtual oneof fields.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf src/csi/generated
npx --no-install proto-loader-gen-types \
  --keepCase --longs=String --enums=String --defaults --oneofs \
  --grpcLib=@grpc/grpc-js \
  --importFileExtension=.js \
  --outDir=src/csi/generated \
  proto/csi.proto
echo "generated: $(find src/csi/generated -name '*.ts' | wc -l) files in src/csi/generated"
