#!/usr/bin/env bash
# ONNX and .npz export checked by other people's software (issue 14):
#   tests/onnx/test_onnx.sh path/to/ghnas
# For one architecture per search space that together exercise every op of the net IR (input,
# conv with groups / dilation / stride, bn, relu, avgpool with and without count_include_pad,
# maxpool, sum, concat, slice, zero, gap, linear), with random weights and BatchNorm statistics
# calibrated on training images:
#   - onnx.checker (Debian python3-onnx, full shape inference) accepts the ONNX file, its
#     metadata and signature are as documented, and numpy reads the .npz export with exactly
#     the ONNX initializers' values (check_onnx.py);
#   - ONNX Runtime (npm onnxruntime-node, CPU) gives the logits of `ghnas predict --logits` on 300
#     Fashion-MNIST test images within 1e-4 * (1 + |logit|) and the same class for each
#     (run_ort.js).
# Then a real training (ghnas search + the closing evaluate, 1 epoch on 2000 images): its kept
# weights exported from the store give, under ONNX Runtime, exactly the test accuracy ghnas
# recorded on all 10,000 test images.
# Needs node + tests/onnx/node_modules and /usr/bin/python3 with onnx (scripts/setup.sh installs
# them). Prints one line per case and "N passed, M failed".
set -u
ghnas=${1:?usage: test_onnx.sh path/to/ghnas}
here=$(cd "$(dirname "$0")" && pwd)
py=/usr/bin/python3
data=${GHNAS_FASHION_MNIST_DIR:-/usr/share/datasets/fashion-mnist}
images=$data/t10k-images-idx3-ubyte.gz
labels=$data/t10k-labels-idx1-ubyte.gz
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; [ -n "${2:-}" ] && sed 's/^/     /' <<<"$2"; }

if [ ! -d "$here/node_modules/onnxruntime-node" ] || ! command -v node >/dev/null; then
    echo "test_onnx: node or tests/onnx/node_modules missing: run scripts/setup.sh" >&2
    exit 1
fi
if ! "$py" -c "import onnx, numpy" 2>/dev/null; then
    echo "test_onnx: $py cannot import onnx and numpy: run scripts/setup.sh (python3-onnx)" >&2
    exit 1
fi

A201='|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|nor_conv_1x1~1|avg_pool_3x3~2|'
A101='101000.10000.0010.111.01.1|conv3x3-bn-relu,conv1x1-bn-relu,maxpool3x3,conv3x3-bn-relu,conv1x1-bn-relu'
ADARTS="Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_5x5', 1), ('dil_conv_3x3', 0), ('dil_conv_5x5', 2), ('max_pool_3x3', 1), ('avg_pool_3x3', 0), ('skip_connect', 2), ('sep_conv_3x3', 3)], normal_concat=[2, 3, 4, 5], reduce=[('skip_connect', 0), ('max_pool_3x3', 1), ('avg_pool_3x3', 0), ('sep_conv_3x3', 2), ('dil_conv_5x5', 1), ('skip_connect', 2), ('sep_conv_5x5', 3), ('dil_conv_3x3', 4)], reduce_concat=[2, 3, 4, 5])"
AMACRO='d2-w24-k5-e1|d1-w24-k5-e3|d2-w48-k3-e4|d1-w64-k7-e6'

ir_ops=""
onnx_features=""
check_space() { # SPACE ARCH SHAPE_OPTS...
    local s=$1 a=$2
    shift 2
    local m="$tmp/$s.onnx" z="$tmp/$s.npz" out
    ir_ops+=" $("$ghnas" show "$a" --space "$s" "$@" | awk 'NR > 5 {print $2}' | sort -u | tr '\n' ' ')"
    if ! out=$("$ghnas" export "$a" --space "$s" "$@" --init random --seed 3 --bn-calib 2 \
        --out "$m" 2>&1) || ! out=$("$ghnas" export "$a" --space "$s" "$@" --init random --seed 3 \
        --bn-calib 2 --out "$z" 2>&1); then
        bad "$s: export" "$out"
        return
    fi
    if out=$("$py" "$here/check_onnx.py" "$m" --arch "$a" --npz "$z" --meta ghnas.bn 2>&1); then
        ok "$s: onnx.checker, metadata, npz = initializers"
        onnx_features+=" $(sed -E 's/.*"features": \[([^]]*)\].*/\1/' <<<"$out")"
        onnx_features+=" $(sed -E 's/.*"ops": \{([^}]*)\}.*/\1/' <<<"$out")"
    else
        bad "$s: onnx.checker, metadata, npz = initializers" "$out"
    fi
    if ! "$ghnas" predict "$a" --space "$s" "$@" --init random --seed 3 --bn-calib 2 --logits \
        -n 300 "$images" >"$tmp/$s.csv" 2>"$tmp/err"; then
        bad "$s: ghnas predict" "$(cat "$tmp/err")"
        return
    fi
    if out=$(node "$here/run_ort.js" "$m" "$images" --n 300 --ref "$tmp/$s.csv" --tol 1e-4 2>&1); then
        ok "$s: ONNX Runtime logits = ghnas logits ($(grep -oE '"max_abs_diff":[^,]*' <<<"$out"))"
    else
        bad "$s: ONNX Runtime logits = ghnas logits" "$out"
    fi
}

check_space nb201 "$A201" --C 8 --N 1
check_space nb101 "$A101" --C 8 --N 1
check_space darts "$ADARTS" --C 8 --N 1
check_space macro "$AMACRO" --C 8

# every IR op of the four spaces was exported, with the attributes that need care
missing=""
for op in input conv bn relu avgpool maxpool sum concat slice zero gap linear; do
    grep -qw "$op" <<<"$ir_ops" || missing+=" $op"
done
for f in Conv.group Conv.dilation Conv.stride AveragePool.count_include_pad=0 \
    AveragePool.count_include_pad=1 MaxPool.pads Sum Concat Slice ConstantOfShape \
    GlobalAveragePool Gemm BatchNormalization Relu; do
    grep -q "$f" <<<"$onnx_features" || missing+=" $f"
done
[ -z "$missing" ] && ok "op coverage: every IR op and ONNX mapping exercised" ||
    bad "op coverage" "missing:$missing"

# ---- a real training: same test accuracy under ONNX Runtime ---------------------------------------
db="$tmp/t.db"
if ! "$ghnas" search --db "$db" --scorer params --budget 6 --C 8 --N 1 --eval-top 1 \
    --eval-epochs 1 --eval-train-n 2000 --quiet >"$tmp/search.log" 2>&1; then
    bad "search + evaluate" "$(tail -5 "$tmp/search.log")"
else
    acc=$("$ghnas" query "$db" sql "SELECT test_acc FROM trainings WHERE id = 1" --format csv |
        tail -1)
    if "$ghnas" export --db "$db" --training 1 --out "$tmp/trained.onnx" >/dev/null 2>"$tmp/err" &&
        out=$(node "$here/run_ort.js" "$tmp/trained.onnx" "$images" --labels "$labels" \
            --acc "$acc" 2>&1); then
        ok "trained model: ONNX Runtime test accuracy = ghnas's ($acc on 10000)"
    else
        bad "trained model: ONNX Runtime test accuracy = ghnas's ($acc)" "$(cat "$tmp/err") $out"
    fi
    out=$("$py" "$here/check_onnx.py" "$tmp/trained.onnx" \
        --arch "$("$ghnas" query "$db" sql "SELECT a.arch FROM trainings t JOIN architectures a ON a.id = t.arch_id WHERE t.id = 1" --format csv | tail -1 | sed 's/^"//; s/"$//; s/""/"/g')" \
        --meta ghnas.recipe ghnas.test_acc ghnas.val_acc ghnas.training 2>&1) &&
        ok "trained model: onnx.checker, recipe and accuracies in metadata" ||
        bad "trained model: onnx.checker, recipe and accuracies in metadata" "$out"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
