#!/usr/bin/env bash
# Issue 9's verification on all 10,000 MNIST test images, both directions:
#   import: each PyTorch fixture (test/fixtures/onnx) -> .onebit, engine vs onnxruntime (the
#           residual ones on MNIST or Fashion-MNIST, as test/fixtures/onnx/residual.json says);
#   export: bnn-mlp, bnn-cnn and xnor-cnn trained here by onebit, and the committed demo model
#           (web/public/models/mnist-bnn-cnn.onebit) -> ONNX, onnxruntime vs engine, and that
#           ONNX imported back -> engine vs onnxruntime.
# Classes must be identical and scores within 1e-4 relative; a mismatch exits non-zero.
#
#     bash scripts/verify-onnx.sh            # OUT=/tmp/onebit-onnx-verify, EPOCHS=1, LIMIT_TRAIN=20000
set -uo pipefail
cd "$(dirname "$0")/.."
npm run -s build:ts
onebit() { node dist/cli/main.js "$@"; }
OUT=${OUT:-/tmp/onebit-onnx-verify}
EPOCHS=${EPOCHS:-1}
LIMIT_TRAIN=${LIMIT_TRAIN:-20000}
F=test/fixtures/onnx
mkdir -p "$OUT"
status=0
run() {
  echo "\$ onebit $*"
  onebit "$@" || status=1
}

run import "$F/mlp-sign.onnx" --out "$OUT/mlp-sign.onebit" --input-range 0,1 --verify
run import "$F/cnn-where.onnx" --out "$OUT/cnn-where.onebit" --input-range=-1,1 --verify
run import "$F/cnn-ste.onnx" --out "$OUT/cnn-ste.onebit" --input-range=-1,1 --verify
run import "$F/float-cnn.onnx" --out "$OUT/float-cnn.onebit" --input-range 0,1 --verify
run import "$F/birealnet-block.onnx" --out "$OUT/birealnet-block.onebit" --input-range 0,1 --verify
# Issue 16's residual fixtures (scripts/make-residual-onnx.py; data set and range in residual.json).
run import "$F/birealnet-twin.onnx" --out "$OUT/birealnet-twin.onebit" --input-range=-1,1 --dataset mnist --verify
run import "$F/reactnet-twin.onnx" --out "$OUT/reactnet-twin.onebit" --input-range=-1,1 --dataset fashion-mnist --verify
run import "$F/quicknet-twin.onnx" --out "$OUT/quicknet-twin.onebit" --input-range=-1,1 --dataset mnist --verify
run import "$F/where-sign.onnx" --out "$OUT/where-sign.onebit" --input-range 0,1 --dataset mnist --verify
run import "$F/react-style.onnx" --out "$OUT/react-style.onebit" --input-range 0,1 --dataset fashion-mnist --verify

for spec in "bnn-mlp --width 256 --last bwn" "bnn-cnn --last binary" "xnor-cnn --last binary --scaling xnor-weights" \
  "bnn-cnn --first float --last float"; do
  read -r model flags <<<"$spec"
  name="$model${flags//[^a-z]/}"
  # shellcheck disable=SC2086
  onebit train --model "$model" --dataset mnist $flags --epochs "$EPOCHS" --limit-train "$LIMIT_TRAIN" --threads 1 --out "$OUT/$name" --json >/dev/null ||
    { echo "training $model failed"; status=1; continue; }
  run export "$OUT/$name/last.ckpt" --format onnx --out "$OUT/$name.onnx" --verify
  [ -f "$OUT/$name.onnx" ] && run import "$OUT/$name.onnx" --out "$OUT/$name.onebit" --input-range 0,255 --verify
done
run export web/public/models/mnist-bnn-cnn.onebit --format onnx --out "$OUT/demo-bnn-cnn.onnx" --verify
run import "$OUT/demo-bnn-cnn.onnx" --out "$OUT/demo-bnn-cnn.onebit" --input-range 0,255 --verify
exit $status
