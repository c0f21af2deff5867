#!/usr/bin/env bash
# The one prepared check for a machine with an accelerator (JAX with CUDA and the package's
# dependencies already installed; nothing is installed by this script): the train step against
# its floor at the default and at GPT-2 shape (P2), populations against a loop (P5), the quick
# reproduction with every claim, and the long profile's sequence transformer (held-out ε and time). Run from the repository root: bash benchmarks/device_check.sh
set -x
export PYTHONPATH=$PWD
nvidia-smi -L
python3 -c "import jax; print(jax.__version__, jax.devices())"
timeout 90 python3 benchmarks/bench.py --parts P2 --repeats 5
timeout 150 python3 benchmarks/bench.py --parts P2 --vocab 50257 --contexts 8192 --dim 768 --repeats 3
timeout 120 python3 benchmarks/bench.py --parts P5 --p5-large
timeout 200 python3 -m simulations --threads 8 reproduce --profile quick --no-progress --results /tmp/r --figures /tmp/f 2>&1 | tail -40
timeout 240 python3 -m simulations --threads 8 reproduce --profile long --only sequence --no-progress --results /tmp/r --figures /tmp/fl 2>&1 | tail -30
